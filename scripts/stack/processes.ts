import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import { projectPath, projectRoot } from '../../platform/paths.js';
import { freePort } from './services.js';

export interface Ports {
  gateway: number;
  feed: number;
  likes: number;
  comments: number;
  notifications: number;
}

/** A free port for every service, for a stack of its own beside anything else running. */
export async function freePorts(): Promise<Ports> {
  return {
    gateway: await freePort(),
    feed: await freePort(),
    likes: await freePort(),
    comments: await freePort(),
    notifications: await freePort(),
  };
}

/**
 * V8 flags of every subgraph process, here and in `deploy/` (each subgraph's command). A request
 * allocates a few hundred KB that die young, and a scavenge costs what survives, not what died:
 * 64 MB semi-spaces (Node 20 grows them to 32 MB at most, less under a small heap) halved the
 * garbage collector's share of the feed subgraph's CPU, for about 80 MB more resident memory per
 * process. The gateway keeps Node's defaults: it gained nothing measurable, and its memory is what
 * bounds its WebSocket connections (README, "Garbage collection").
 */
export const SUBGRAPH_NODE_ARGS = ['--max-semi-space-size=64'];

export interface SupergraphProcesses {
  /** Process ids by service, for measuring them: a restarted service has a new one. */
  readonly pids: Record<keyof Ports, number>;
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
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`${name} exited with ${child.exitCode ?? child.signalCode} during start-up`);
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

/** Restarts of a service that keeps crashing wait longer each time, up to `maxDelayMs`. */
export interface RestartPolicy {
  /** The first restart's wait; each one in a row doubles it. */
  initialDelayMs: number;
  maxDelayMs: number;
  /** A service that stayed up this long starts again from `initialDelayMs`. */
  resetAfterMs: number;
  /** Told of every restart: `npm start` logs it. */
  onRestart(event: RestartEvent): void;
}

export type RestartEvent =
  | {
      name: string;
      phase: 'exited';
      exit: number | string | null;
      delayMs: number;
      attempt: number;
    }
  /** Answering `/health/live` again. */
  | { name: string; phase: 'ready'; pid: number; attempt: number }
  | { name: string; phase: 'failed'; error: string; attempt: number };

/**
 * The next wait of a service restarted `attempt` times in a row (1 for the first): doubled each
 * time from `initialDelayMs`, never past `maxDelayMs`.
 */
export function restartDelay(
  policy: Pick<RestartPolicy, 'initialDelayMs' | 'maxDelayMs'>,
  attempt: number,
): number {
  return Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.max(0, attempt - 1));
}

/**
 * The four subgraphs and the gateway, each its own process as in production, started in
 * dependency order (likes, comments and notifications call feed; the gateway plans over all).
 * With `restart`, a process that exits before `stop` is started again after a back-off, alone:
 * the others keep serving meanwhile (the gateway answers partial data without a subgraph).
 * Without it, `onExit` hears of such an exit. With `gateway: false` only the subgraphs start
 * (`pids.gateway` is then 0), for a caller that runs gateways of its own over them.
 */
export async function startSupergraphProcesses(options: {
  host: string;
  ports: Ports;
  env: NodeJS.ProcessEnv;
  onExit?: (name: string, code: number | string | null) => void;
  restart?: RestartPolicy;
  gateway?: boolean;
  /** Send the services' log lines (their stdout) to our stderr, leaving our stdout to results. */
  logsToStderr?: boolean;
  /** Node flags for every service (for example `--cpu-prof`), after `SUBGRAPH_NODE_ARGS`. */
  nodeArgs?: string[];
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
  const restarts = new Map<keyof Ports, NodeJS.Timeout>();
  let stopping = false;

  function spawnService(name: keyof Ports, entry: string, attempt: number): ChildProcess {
    const tuning = name === 'gateway' ? [] : SUBGRAPH_NODE_ARGS;
    const args = [...tuning, ...(options.nodeArgs ?? []), projectPath(entry)];
    const child = spawn(process.execPath, args, {
      cwd: projectRoot,
      env,
      stdio: ['ignore', options.logsToStderr ? process.stderr : 'inherit', 'inherit'],
    });
    const startedAt = Date.now();
    child.on('exit', (code, signal) => {
      if (stopping) return;
      const exit = signal ?? code;
      if (!options.restart) return options.onExit?.(name, exit);
      // A service that ran for a while crashed afresh: back to the shortest wait.
      const next = Date.now() - startedAt >= options.restart.resetAfterMs ? 1 : attempt + 1;
      scheduleRestart(name, entry, next, exit);
    });
    children.set(name, child);
    return child;
  }

  function scheduleRestart(
    name: keyof Ports,
    entry: string,
    attempt: number,
    exit: number | string | null,
  ) {
    const policy = options.restart as RestartPolicy;
    const delayMs = restartDelay(policy, attempt);
    policy.onRestart({ name, phase: 'exited', exit, delayMs, attempt });
    const timer = setTimeout(() => {
      restarts.delete(name);
      if (stopping) return;
      const child = spawnService(name, entry, attempt);
      // Alive is enough: a restarted gateway stays unready while Redis is away, yet serves.
      waitReady(name, healthUrl(name, 'live'), child).then(
        () => policy.onRestart({ name, phase: 'ready', pid: child.pid ?? 0, attempt }),
        (error: Error) => {
          policy.onRestart({ name, phase: 'failed', error: error.message, attempt });
          // Its exit, now or after this kill, schedules the next try.
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        },
      );
    }, delayMs);
    restarts.set(name, timer);
  }

  const healthUrl = (name: keyof Ports, state: 'live' | 'ready') =>
    `http://${host}:${ports[name]}/health/${state}`;

  async function start(name: keyof Ports, entry: string) {
    const child = spawnService(name, entry, 0);
    await waitReady(name, healthUrl(name, 'ready'), child);
  }

  async function stop() {
    stopping = true;
    for (const timer of restarts.values()) clearTimeout(timer);
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
    get pids() {
      return {
        gateway: pid('gateway'),
        feed: pid('feed'),
        likes: pid('likes'),
        comments: pid('comments'),
        notifications: pid('notifications'),
      };
    },
    gatewayUrl: url(ports.gateway),
    stop,
  };
}
