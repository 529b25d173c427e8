import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import { projectPath, projectRoot } from '../platform/paths.js';

export interface Ports {
  gateway: number;
  feed: number;
  likes: number;
  comments: number;
  notifications: number;
}

export interface SupergraphProcesses {
  /** Process ids by service, for measuring them. */
  pids: Record<keyof Ports, number>;
  gatewayUrl: string;
  /** SIGTERM to each, waiting for it to exit. */
  stop(): Promise<void>;
}

async function waitReady(
  name: string,
  url: string,
  child: ChildProcess,
  init?: RequestInit,
): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`${name} exited with ${child.exitCode} during start-up`);
    const ready = await fetch(url, init)
      .then((response) => response.ok)
      .catch(() => false);
    if (ready) return;
    await delay(200);
  }
  throw new Error(`${name} did not become ready at ${url}`);
}

export interface ServiceProcess {
  pid: number;
  /** SIGTERM, waiting for the process to exit. */
  stop(): Promise<void>;
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/**
 * One Node process running `entry` (a path under the project root), or a native program
 * (`executable`, a benchmark peer), resolved once `readyUrl` answers 2xx to a request made with
 * `readyInit` (a GET by default). `nodeArgs` go before the entry (for example `--cpu-prof`).
 */
export async function startServiceProcess(
  options: {
    name: string;
    env: NodeJS.ProcessEnv;
    readyUrl: string;
    readyInit?: RequestInit;
    /** Send the process's log lines (its stdout) to our stderr, leaving our stdout to results. */
    logsToStderr?: boolean;
  } & (
    | { entry: string; nodeArgs?: string[] }
    | { executable: { file: string; args: string[]; cwd: string } }
  ),
): Promise<ServiceProcess> {
  const [file, args, cwd] =
    'executable' in options
      ? [options.executable.file, options.executable.args, options.executable.cwd]
      : [process.execPath, [...(options.nodeArgs ?? []), projectPath(options.entry)], projectRoot];
  const child = spawn(file, args, {
    cwd,
    env: options.env,
    stdio: ['ignore', options.logsToStderr ? process.stderr : 'inherit', 'inherit'],
  });
  try {
    await waitReady(options.name, options.readyUrl, child, options.readyInit);
  } catch (error) {
    await stopChild(child);
    throw error;
  }
  return { pid: child.pid ?? 0, stop: () => stopChild(child) };
}

/**
 * The four subgraphs and the gateway, each its own process as in production, started in
 * dependency order (likes, comments and notifications call feed; the gateway plans over all).
 * `onExit` hears of a process that exits before `stop`. With `gateway: false` only the subgraphs
 * start (`pids.gateway` is then 0), for a caller that runs gateways of its own over them.
 */
export async function startSupergraphProcesses(options: {
  host: string;
  ports: Ports;
  env: NodeJS.ProcessEnv;
  onExit?: (name: string, code: number | string | null) => void;
  gateway?: boolean;
  /** Send the services' log lines (their stdout) to our stderr, leaving our stdout to results. */
  logsToStderr?: boolean;
}): Promise<SupergraphProcesses> {
  const { host, ports } = options;
  const url = (port: number) => `http://${host}:${port}/graphql`;
  const env: NodeJS.ProcessEnv = {
    ...options.env,
    HOST: host,
    GATEWAY_PORT: String(ports.gateway),
    FEED_PORT: String(ports.feed),
    LIKES_PORT: String(ports.likes),
    COMMENTS_PORT: String(ports.comments),
    NOTIFICATIONS_PORT: String(ports.notifications),
    FEED_URL: url(ports.feed),
    LIKES_URL: url(ports.likes),
    COMMENTS_URL: url(ports.comments),
    NOTIFICATIONS_URL: url(ports.notifications),
  };
  const children = new Map<keyof Ports, ChildProcess>();
  let stopping = false;

  async function start(name: keyof Ports, entry: string) {
    const child = spawn(process.execPath, [projectPath(entry)], {
      cwd: projectRoot,
      env,
      stdio: ['ignore', options.logsToStderr ? process.stderr : 'inherit', 'inherit'],
    });
    child.on('exit', (code, signal) => {
      if (!stopping) options.onExit?.(name, signal ?? code);
    });
    children.set(name, child);
    await waitReady(name, `http://${host}:${ports[name]}/health/ready`, child);
  }

  async function stop() {
    stopping = true;
    await Promise.all([...children.values()].map(stopChild));
  }

  try {
    await start('feed', 'dist/subgraphs/feed/index.js');
    await Promise.all([
      start('likes', 'dist/subgraphs/likes/index.js'),
      start('comments', 'dist/subgraphs/comments/index.js'),
      start('notifications', 'dist/subgraphs/notifications/index.js'),
    ]);
    if (options.gateway !== false) await start('gateway', 'dist/gateway/index.js');
  } catch (error) {
    await stop();
    throw error;
  }
  const pid = (name: keyof Ports) => children.get(name)?.pid ?? 0;
  return {
    pids: {
      gateway: pid('gateway'),
      feed: pid('feed'),
      likes: pid('likes'),
      comments: pid('comments'),
      notifications: pid('notifications'),
    },
    gatewayUrl: url(ports.gateway),
    stop,
  };
}
