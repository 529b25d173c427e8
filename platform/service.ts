import { DEFAULT_RECONCILE_KEYS } from './cache.js';
import { int, oneOf, readEnv, str, url } from './env.js';
import type { Logger } from './logger.js';
import { DEFAULT_WRITES_MAX_IN_FLIGHT } from './write-admission.js';

/** Settings every service reads, with the defaults of a local run. */
export function readServiceEnv(portVariable: string, defaultPort: number) {
  const env = readEnv({
    HOST: str('127.0.0.1'),
    [portVariable]: int(defaultPort, 0, 65_535),
    MONGODB_URI: url('mongodb://127.0.0.1:27017/?directConnection=true', [
      'mongodb:',
      'mongodb+srv:',
    ]),
    MONGODB_DB_PREFIX: str('ig'),
    LOG_LEVEL: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
    FEED_URL: url('http://127.0.0.1:4001/graphql', ['http:', 'https:']),
    LIKES_URL: url('http://127.0.0.1:4002/graphql', ['http:', 'https:']),
    COMMENTS_URL: url('http://127.0.0.1:4003/graphql', ['http:', 'https:']),
    NOTIFICATIONS_URL: url('http://127.0.0.1:4004/graphql', ['http:', 'https:']),
    REPAIR_INTERVAL_MS: int(30_000, 1_000, 3_600_000),
    NATS_URL: url('nats://127.0.0.1:4222', ['nats:', 'tls:']),
    REDIS_URL: url('redis://127.0.0.1:6379', ['redis:', 'rediss:']),
    PUBSUB_ENGINE: oneOf(['nats', 'redis'], 'nats'),
    EVENTS_PREFIX: str('ig'),
    CACHE_TTL_SECONDS: int(300, 1, 86_400),
    CACHE_TIMEOUT_MS: int(50, 1, 10_000),
    CACHE_RECONCILE_KEYS: int(DEFAULT_RECONCILE_KEYS, 500, 10_000_000),
    WRITES_MAX_IN_FLIGHT: int(DEFAULT_WRITES_MAX_IN_FLIGHT, 1, 100_000),
  });
  return {
    host: env.HOST as string,
    port: env[portVariable] as number,
    mongoUri: env.MONGODB_URI as string,
    dbPrefix: env.MONGODB_DB_PREFIX as string,
    logLevel: env.LOG_LEVEL as string,
    feedUrl: env.FEED_URL as string,
    likesUrl: env.LIKES_URL as string,
    commentsUrl: env.COMMENTS_URL as string,
    notificationsUrl: env.NOTIFICATIONS_URL as string,
    repairIntervalMs: env.REPAIR_INTERVAL_MS as number,
    natsUrl: env.NATS_URL as string,
    redisUrl: env.REDIS_URL as string,
    pubsubEngine: env.PUBSUB_ENGINE as 'nats' | 'redis',
    eventsPrefix: env.EVENTS_PREFIX as string,
    cacheTtlSeconds: env.CACHE_TTL_SECONDS as number,
    cacheTimeoutMs: env.CACHE_TIMEOUT_MS as number,
    cacheReconcileKeys: env.CACHE_RECONCILE_KEYS as number,
    writesMaxInFlight: env.WRITES_MAX_IN_FLIGHT as number,
  };
}

export type ServiceEnv = ReturnType<typeof readServiceEnv>;

/**
 * Runs `stop` once on SIGTERM or SIGINT, then exits; a second signal, or a stop that hangs past
 * the grace period, exits at once.
 */
export function stopOnSignals(logger: Logger, stop: () => Promise<void>, graceMs = 15_000): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(1);
    stopping = true;
    logger.info({ signal }, 'shutting down');
    setTimeout(() => process.exit(1), graceMs).unref();
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}

/**
 * Tells a parent that started this process with an IPC channel which port it listens on. With
 * its `*_PORT` set to 0 that is the kernel's choice, so a parent needs no port picked before the
 * service binds it (another process could take a port in between). Without a channel, nothing.
 */
export function announceListening(port: number): void {
  if (!process.send) return;
  process.send({ type: 'listening', port });
  // The channel must not keep a stopping service alive.
  process.channel?.unref();
}

/** Runs `task` every `intervalMs` without overlapping runs; returns a stop function. */
export function every(
  intervalMs: number,
  task: () => Promise<void>,
  logger: Logger,
): () => Promise<void> {
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    if (running) return;
    running = task()
      .catch((error: unknown) => logger.error({ err: error }, 'periodic task failed'))
      .finally(() => {
        running = undefined;
      });
  }, intervalMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
