/**
 * Local-stack plumbing for dev runs and tests: a MongoDB-wire server (mongo-java-server, since no
 * mongod can be installed here), Redis and NATS with JetStream.
 *
 * Redis and NATS are reused when something already answers at their address; otherwise the Debian
 * binaries (installed by scripts/stack/setup.sh) are started and owned by this process. Everything we
 * start is tied to our lifetime, so a crashed or killed test run leaves no servers behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access, mkdir } from 'node:fs/promises';
import { createConnection, createServer, type Socket } from 'node:net';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { projectRoot } from '../../platform/paths.js';

export interface MongoServerOptions {
  backend: 'memory' | 'h2';
  /** H2 store file; defaults to `.data/mongo/store.mv` under the project root. */
  file?: string;
  /** 0 (the default) lets the OS pick a free port. */
  port?: number;
  host?: string;
  /** false runs the library's stock indexing (unique indexes only), for comparisons; default true. */
  secondaryIndexes?: boolean;
  /**
   * H2 only: `commit` (the default) commits before each write is acknowledged, so it survives the
   * server's kill -9; `fsync` also forces it to disk (survives the machine's crash); `delayed` is
   * the library's auto-commit every second, which loses the last second's writes.
   */
  durability?: 'commit' | 'fsync' | 'delayed';
  /**
   * Answer as a mongos router, so that drivers send each read's preference (they leave it out for
   * a standalone server): for tests of where reads would go in a replicated deployment.
   */
  asMongos?: boolean;
  /** Told when the server exits before `stop` (a crash, a kill). */
  onExit?: (exit: string) => void;
}

export interface MongoServerHandle {
  uri: string;
  pid: number;
  stop(): Promise<void>;
}

export interface ServiceHandle {
  url: string;
  /** The server's process id when this process started it, 0 for one found running. */
  pid: number;
  /** Stops the server only if this process started it; a no-op for one found running. */
  stop(): Promise<void>;
}

export const MONGO_SERVER_JAR = path.join(
  projectRoot,
  'scripts',
  'stack',
  'mongo-server',
  'target',
  'mongo-server.jar',
);

const MONGO_READY_TIMEOUT_MS = 60_000;
const KNOWN_FAKE_WARNINGS = /is not yet implemented\. [Ii]gnoring/;
const SERVER_READY_TIMEOUT_MS = 20_000;
const STOP_GRACE_MS = 10_000;
const PROBE_TIMEOUT_MS = 1_500;
const PROBE_INTERVAL_MS = 100;
const OUTPUT_TAIL_CHARS = 4_000;
/** Non-login shells and non-root users often lack the sbin directories (nats-server lives there). */
const EXTRA_BINARY_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin'];

function log(message: string): void {
  process.stderr.write(`[services] ${message}\n`);
}

/** Keeps the end of a child's output so a failure can say why without flooding the terminal. */
class OutputTail {
  private text = '';

  append(chunk: Buffer | string): void {
    this.text = (this.text + chunk.toString()).slice(-OUTPUT_TAIL_CHARS);
  }

  describe(): string {
    const trimmed = this.text.trim();
    return trimmed ? `\n--- last output ---\n${trimmed}` : ' (it printed nothing)';
  }
}

// ---------------------------------------------------------------------------------------------
// Child process ownership

const owned = new Set<ChildProcess>();
let exitHookInstalled = false;

/**
 * Children are unref'd once ready, so a script that forgets stop() still exits; this hook then
 * takes them down with it. Deaths without an 'exit' event (SIGKILL, unhandled signals) are covered
 * per child: mongo-server watches its stdin, the others get a parent-death signal.
 */
function own(child: ChildProcess): void {
  owned.add(child);
  // Spawn failures are reported by the callers' own listeners; a later 'error' (a failed kill, a
  // broken stdin pipe) must not become an uncaught exception that takes the whole run down.
  child.on('error', () => {});
  child.stdin?.on('error', () => {});
  child.once('exit', () => owned.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const c of owned) c.kill('SIGTERM');
    });
  }
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function describeExit(child: ChildProcess): string {
  return child.signalCode !== null ? `signal ${child.signalCode}` : `code ${child.exitCode}`;
}

function stdioSockets(child: ChildProcess): Socket[] {
  // Pipes are net.Sockets at runtime; the typings only promise streams.
  return [child.stdin, child.stdout, child.stderr].filter((s) => s !== null) as unknown as Socket[];
}

function detachFromEventLoop(child: ChildProcess): void {
  child.unref();
  for (const socket of stdioSockets(child)) socket.unref();
}

function attachToEventLoop(child: ChildProcess): void {
  child.ref();
  for (const socket of stdioSockets(child)) socket.ref();
}

function waitForExit(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || hasExited(child)) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** SIGTERM, then SIGKILL if it is still around after the grace period. */
async function terminate(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || hasExited(child)) return;
  attachToEventLoop(child);
  const exited = waitForExit(child);
  child.kill('SIGTERM');
  const killer = setTimeout(() => {
    if (!hasExited(child)) child.kill('SIGKILL');
  }, STOP_GRACE_MS);
  try {
    await exited;
  } finally {
    clearTimeout(killer);
  }
}

/** Memoised so concurrent or repeated stop() calls all wait for the same shutdown. */
function stopOnce(child: ChildProcess): () => Promise<void> {
  let stopping: Promise<void> | undefined;
  return () => (stopping ??= terminate(child));
}

async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function findBinary(name: string): Promise<string | undefined> {
  const pathDirs = (process.env['PATH'] ?? '').split(path.delimiter).filter(Boolean);
  for (const dir of [...pathDirs, ...EXTRA_BINARY_DIRS]) {
    const candidate = path.join(dir, name);
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// MongoDB (mongo-java-server)

function javaCommand(): string {
  const javaHome = process.env['JAVA_HOME'];
  return javaHome ? path.join(javaHome, 'bin', 'java') : 'java';
}

function uriHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * Starts mongo-java-server on a free port (unless `port` says otherwise) and resolves once it
 * accepts connections. The server reports itself as MongoDB 7.0 so the Node driver talks to it.
 */
export async function startMongo(opts: MongoServerOptions): Promise<MongoServerHandle> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? 0;
  const args = ['-jar', MONGO_SERVER_JAR, '--host', host, '--port', String(port)];
  args.push('--backend', opts.backend);
  if (opts.backend === 'h2') {
    args.push(
      '--file',
      path.resolve(opts.file ?? path.join(projectRoot, '.data', 'mongo', 'store.mv')),
      '--durability',
      opts.durability ?? 'commit',
    );
  } else if (opts.file !== undefined || opts.durability !== undefined) {
    throw new Error('startMongo: `file` and `durability` only apply to the h2 backend');
  }
  if (opts.secondaryIndexes === false) args.push('--secondary-indexes', 'off');
  if (opts.asMongos) args.push('--as-mongos');
  // Lets the server notice our death through its stdin, even when we are SIGKILLed.
  args.push('--exit-on-stdin-close');

  if (!(await fileExists(MONGO_SERVER_JAR))) {
    throw new Error(
      `mongo: ${path.relative(projectRoot, MONGO_SERVER_JAR)} is missing. Build it with ` +
        '`sh scripts/stack/setup.sh` (or `mvn -q -B -f scripts/stack/mongo-server/pom.xml package`).',
    );
  }

  const child = spawn(javaCommand(), args, { cwd: projectRoot, stdio: ['pipe', 'pipe', 'pipe'] });
  own(child);
  const tail = new OutputTail();
  let ready = false;
  let stderrLine = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    tail.append(chunk);
    if (!ready) return;
    // After startup only warnings and errors reach stderr (log level warn): worth showing.
    stderrLine += chunk.toString();
    const lines = stderrLine.split('\n');
    stderrLine = lines.pop() ?? '';
    for (const line of lines) {
      // Without secondary indexes (stock indexing) the fake says so for each one it is asked to
      // create: known, and noise at every start.
      if (line.trim() && !KNOWN_FAKE_WARNINGS.test(line))
        process.stderr.write(`[mongo-server] ${line}\n`);
    }
  });

  const address = await new Promise<{ host: string; port: number }>((resolve, reject) => {
    let stdoutText = '';
    let settled = false;
    const settle = (error: Error | undefined, value?: { host: string; port: number }): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.off('error', onError);
      child.off('exit', onExit);
      if (error) reject(error);
      else if (value) resolve(value);
    };
    const onStdout = (chunk: Buffer): void => {
      stdoutText += chunk.toString();
      let newline: number;
      while ((newline = stdoutText.indexOf('\n')) >= 0) {
        const line = stdoutText.slice(0, newline).trim();
        stdoutText = stdoutText.slice(newline + 1);
        const match = /^READY (.+):(\d+)$/.exec(line);
        if (match?.[1] !== undefined && match[2] !== undefined) {
          settle(undefined, { host: match[1], port: Number(match[2]) });
        } else if (line) {
          tail.append(`${line}\n`);
        }
      }
    };
    const onError = (error: Error): void => {
      settle(
        new Error(
          `mongo: cannot run ${javaCommand()} (${error.message}). Install a Java 17+ runtime ` +
            '(apt-get install openjdk-17-jre-headless) or set JAVA_HOME.',
        ),
      );
    };
    const onExit = (): void => {
      settle(
        new Error(
          `mongo: mongo-server exited with ${describeExit(child)} before it was ready${tail.describe()}`,
        ),
      );
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      settle(
        new Error(
          `mongo: mongo-server did not report READY within ${MONGO_READY_TIMEOUT_MS / 1000} s${tail.describe()}`,
        ),
      );
    }, MONGO_READY_TIMEOUT_MS);
    // Stays attached after READY so the pipe is drained and never blocks the server.
    child.stdout?.on('data', onStdout);
    child.once('error', onError);
    child.once('exit', onExit);
  });

  ready = true;
  const stop = stopOnce(child);
  let stopRequested = false;
  child.once('exit', () => {
    if (!stopRequested) {
      log(`mongo: mongo-server (pid ${child.pid}) exited unexpectedly with ${describeExit(child)}`);
      opts.onExit?.(describeExit(child));
    }
  });
  detachFromEventLoop(child);

  const uri = `mongodb://${uriHost(address.host)}:${address.port}/?directConnection=true`;
  const store = opts.backend === 'h2' ? `h2 ${args[args.indexOf('--file') + 1]}` : 'memory';
  log(`mongo: started mongo-server (${store}) at ${uri} (pid ${child.pid})`);
  return {
    uri,
    pid: child.pid ?? 0,
    stop: () => {
      stopRequested = true;
      return stop();
    },
  };
}

async function fileExists(file: string): Promise<boolean> {
  try {
    await access(file, fsConstants.R_OK);
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Redis and NATS

type ProbeResult =
  | { kind: 'found' }
  | { kind: 'absent' }
  /** Something listens there, but it does not speak the expected protocol. */
  | { kind: 'foreign'; detail: string };

/**
 * Connects, optionally sends `greeting`, and judges the first line that comes back. A refused or
 * unreachable connection means nothing is there; anything else that answers is "foreign".
 */
function probeLine(
  host: string,
  port: number,
  greeting: string | undefined,
  accept: (line: string) => boolean,
): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    let connected = false;
    let received = '';
    let settled = false;
    const finish = (result: ProbeResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => {
      finish(connected ? { kind: 'foreign', detail: 'no answer' } : { kind: 'absent' });
    }, PROBE_TIMEOUT_MS);
    socket.once('connect', () => {
      connected = true;
      if (greeting !== undefined) socket.write(greeting);
    });
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      const end = received.indexOf('\r\n');
      if (end < 0) return;
      const line = received.slice(0, end);
      finish(
        accept(line)
          ? { kind: 'found' }
          : { kind: 'foreign', detail: `answered ${JSON.stringify(line.slice(0, 80))}` },
      );
    });
    socket.once('error', (error) => {
      finish(connected ? { kind: 'foreign', detail: error.message } : { kind: 'absent' });
    });
    socket.once('close', () => {
      finish(
        connected ? { kind: 'foreign', detail: 'closed without answering' } : { kind: 'absent' },
      );
    });
  });
}

interface ServerSpec {
  name: string;
  binary: string;
  aptPackage: string;
  defaultPort: number;
  probe(host: string, port: number): Promise<ProbeResult>;
  args(bindHost: string, port: number): string[];
  prepare?(port: number): Promise<void>;
}

const redisSpec: ServerSpec = {
  name: 'redis',
  binary: 'redis-server',
  aptPackage: 'redis-server',
  defaultPort: 6379,
  // -NOAUTH is still a Redis; the client authenticates with the credentials in its URL.
  probe: (host, port) =>
    probeLine(host, port, 'PING\r\n', (line) => line === '+PONG' || line.startsWith('-NOAUTH')),
  // Throwaway instance: nothing persisted, nothing written next to the project.
  args: (bindHost, port) => [
    '--port',
    String(port),
    '--bind',
    bindHost,
    '--save',
    '',
    '--appendonly',
    'no',
  ],
};

/** One JetStream store per port: two servers must never share one. */
const natsStoreDir = (port: number) => path.join(projectRoot, '.data', `nats-${port}`);

const natsSpec: ServerSpec = {
  name: 'nats',
  binary: 'nats-server',
  aptPackage: 'nats-server',
  defaultPort: 4222,
  // The server speaks first, with INFO {...}; no need to send anything.
  probe: (host, port) => probeLine(host, port, undefined, (line) => line.startsWith('INFO ')),
  args: (bindHost, port) => ['-a', bindHost, '-p', String(port), '-js', '-sd', natsStoreDir(port)],
  prepare: async (port) => {
    await mkdir(natsStoreDir(port), { recursive: true });
  },
};

function parseServiceUrl(url: string, defaultPort: number): { host: string; port: number } {
  const parsed = new URL(url);
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = parsed.port ? Number(parsed.port) : defaultPort;
  return { host, port };
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function foreignError(spec: ServerSpec, url: string, detail: string): Error {
  return new Error(
    `${spec.name}: something listens at ${url} but it is not ${spec.name} (${detail}). ` +
      'Free the port or point the URL elsewhere.',
  );
}

/**
 * Wraps the command so the kernel sends it SIGTERM when we die, even by SIGKILL. setpriv is in
 * util-linux (essential on Debian); without it the 'exit' hook is the only safety net. The signal
 * follows the spawning thread, which is the main thread unless called from a worker.
 */
async function withParentDeathSignal(
  binary: string,
  args: string[],
): Promise<{ command: string; args: string[] }> {
  const setpriv = await findBinary('setpriv');
  if (!setpriv) return { command: binary, args };
  return { command: setpriv, args: ['--pdeathsig', 'SIGTERM', '--', binary, ...args] };
}

async function ensureServer(spec: ServerSpec, url: string): Promise<ServiceHandle> {
  const { host, port } = parseServiceUrl(url, spec.defaultPort);
  const noop = async (): Promise<void> => {};

  const initial = await spec.probe(host, port);
  if (initial.kind === 'found') {
    log(`${spec.name}: using the server already running at ${url}`);
    return { url, pid: 0, stop: noop };
  }
  if (initial.kind === 'foreign') throw foreignError(spec, url, initial.detail);
  if (!isLoopback(host)) {
    throw new Error(
      `${spec.name}: nothing answers at ${url}, and ${host} is not this machine, so it cannot be ` +
        'started from here.',
    );
  }

  const binary = await findBinary(spec.binary);
  if (!binary) {
    throw new Error(
      `${spec.name}: nothing answers at ${url} and ${spec.binary} is not installed. ` +
        `Install it with \`apt-get install ${spec.aptPackage}\` (scripts/stack/setup.sh does this), ` +
        `or start ${spec.name} at ${host}:${port} yourself.`,
    );
  }
  await spec.prepare?.(port);

  const bindHost = host === 'localhost' ? '127.0.0.1' : host;
  const command = await withParentDeathSignal(binary, spec.args(bindHost, port));
  const child = spawn(command.command, command.args, {
    cwd: projectRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  own(child);
  const tail = new OutputTail();
  // Drained for the whole lifetime: a full pipe would stall the server.
  child.stdout?.on('data', (chunk: Buffer) => tail.append(chunk));
  child.stderr?.on('data', (chunk: Buffer) => tail.append(chunk));
  let spawnError: Error | undefined;
  child.once('error', (error) => {
    spawnError = error;
  });

  const deadline = Date.now() + SERVER_READY_TIMEOUT_MS;
  for (;;) {
    if (spawnError) {
      throw new Error(`${spec.name}: cannot run ${binary}: ${spawnError.message}`);
    }
    if (hasExited(child)) {
      // Typically "address in use": another process (a parallel test file) won the race.
      if ((await spec.probe(host, port)).kind === 'found') {
        log(`${spec.name}: using the server already running at ${url}`);
        return { url, pid: 0, stop: noop };
      }
      throw new Error(
        `${spec.name}: ${binary} exited with ${describeExit(child)} before answering at ` +
          `${host}:${port}${tail.describe()}`,
      );
    }
    const result = await spec.probe(host, port);
    if (result.kind === 'found') break;
    if (Date.now() > deadline) {
      await terminate(child);
      throw new Error(
        `${spec.name}: ${binary} did not answer at ${host}:${port} within ` +
          `${SERVER_READY_TIMEOUT_MS / 1000} s${tail.describe()}`,
      );
    }
    await delay(PROBE_INTERVAL_MS);
  }

  detachFromEventLoop(child);
  log(`${spec.name}: started ${binary} at ${url} (pid ${child.pid})`);
  return { url, pid: child.pid ?? 0, stop: stopOnce(child) };
}

/** Uses the Redis answering at `url`, or starts a throwaway one there (loopback only). */
export function ensureRedis(url = 'redis://127.0.0.1:6379'): Promise<ServiceHandle> {
  return ensureServer(redisSpec, url);
}

/** Uses the NATS server answering at `url`, or starts one with JetStream (loopback only). */
export function ensureNats(url = 'nats://127.0.0.1:4222'): Promise<ServiceHandle> {
  return ensureServer(natsSpec, url);
}

/** A port nothing listens on now, for a server of a test's or benchmark's own. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
