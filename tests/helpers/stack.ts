import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type { CommandStartedEvent, MongoClient } from 'mongodb';
import { createTokenVerifier, readAuthConfig, signDevToken } from '../../platform/auth.js';
import { createLogger } from '../../platform/logger.js';
import { connectCache, type Cache } from '../../platform/cache.js';
import { createMetrics, type Metrics } from '../../platform/metrics.js';
import { connectMongo, databaseName } from '../../platform/mongo.js';
import { projectPath } from '../../platform/paths.js';
import { readRequestLimits, type RequestLimits } from '../../platform/request-limits.js';
import { connectEvents, type EventClients } from '../../platform/pubsub.js';
import type { RunningService } from '../../platform/subgraph.js';
import { persistedQueryCache } from '../../gateway/persisted-queries.js';
import { createRateLimiter, type RateLimits } from '../../gateway/rate-limit.js';
import {
  startGateway,
  type GatewayDeps,
  type RunningGateway,
  type SubscriptionLimits,
} from '../../gateway/server.js';
import { startComments } from '../../subgraphs/comments/server.js';
import { gridfsBlobStore } from '../../subgraphs/feed/media/gridfs-store.js';
import type { MediaOptions } from '../../subgraphs/feed/media/config.js';
import { startFeed, type TimelineOptions } from '../../subgraphs/feed/server.js';
import { startLikes } from '../../subgraphs/likes/server.js';
import { DEFAULT_WRITES_MAX_IN_FLIGHT } from '../../platform/write-admission.js';
import { startNotifications } from '../../subgraphs/notifications/server.js';
import { resolveUsernames } from '../../platform/user-directory.js';
import { freePort, startMongo } from '../../scripts/stack/services.js';
import { shardKeyViolations } from './shard-keys.js';

export interface GraphQLResult<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  data: T | null | undefined;
  errors:
    { message: string; path?: (string | number)[]; extensions?: { code?: string } }[] | undefined;
}

export interface TestStack {
  gatewayUrl: string;
  /** With `captureLogs`: every log line of every in-process service, parsed. */
  logs: Record<string, unknown>[];
  gateways: RunningGateway[];
  /** The in-process subgraphs: a test may stop one (stopping again at the end is harmless). */
  subgraphs: {
    feed: RunningService;
    likes: RunningService;
    comments: RunningService;
    notifications: RunningService;
  };
  urls: { feed: string; likes: string; comments: string; notifications: string };
  /** Starts the in-process notifications subgraph again, on its port, after a test stopped it. */
  restartNotifications(): Promise<void>;
  mongo: MongoClient;
  dbPrefix: string;
  /** The Redis cache the subgraphs read through: for tests that write through the stores. */
  cache: Cache;
  /** Empties that cache, for tests that count what a cold read costs. */
  flushCache(): Promise<void>;
  /** The commands of the last `record` call. */
  commands: CommandStartedEvent[];
  /** Every command the subgraphs sent to the database since the stack started. */
  allCommands: CommandStartedEvent[];
  record<T>(work: () => Promise<T>): Promise<{ result: T; commands: CommandStartedEvent[] }>;
  /**
   * `record`, keeping only what a request through the feed, likes and comments costs: the
   * notifications subgraph's consumers write in the background, on events of earlier writes,
   * whenever they get to them.
   */
  recordQuery<T>(work: () => Promise<T>): Promise<{ result: T; commands: CommandStartedEvent[] }>;
  token(userId: string): Promise<string>;
  /**
   * A connection of the test's own to the stack's events (its prefix, engine, NATS and Redis), as
   * another process would have: the caller closes it.
   */
  connectEvents(name: string): Promise<EventClients>;
  gql<T = Record<string, any>>(
    query: string,
    variables?: Record<string, unknown>,
    options?: { as?: string; token?: string; url?: string; headers?: Record<string, string> },
  ): Promise<GraphQLResult<T>>;
  /**
   * Another gateway, as a separate process (`dist/gateway/index.js`) over the same subgraphs and
   * events, with `env` on top; stopped with the stack. Resolves once it is ready.
   */
  spawnGateway(env?: Record<string, string>): Promise<{ url: string; process: ChildProcess }>;
  /**
   * Another replica of a subgraph, as a separate process (`dist/subgraphs/<name>/index.js`) on
   * the same databases and events, with `env` on top; stopped with the stack. Its stdout (log
   * lines from the moment it is ready) can be read from the returned process.
   */
  spawnSubgraph(
    name: 'feed' | 'likes' | 'comments' | 'notifications',
    env?: Record<string, string>,
  ): Promise<{ url: string; process: ChildProcess }>;
  stop(): Promise<void>;
}

/**
 * The whole supergraph in this process, on port 0, against the Mongo-wire server named by
 * MONGODB_URI (started here when it is not set), with databases of a random prefix: tests share
 * nothing with each other or with a developer's data.
 */
export interface StackOptions {
  supergraphPath?: string;
  /** A Mongo-wire server of the test's own; MONGODB_URI or one started here by default. */
  mongoUri?: string;
  /** The live pub/sub engine; PUBSUB_ENGINE or NATS by default. */
  engine?: 'nats' | 'redis';
  /** NATS_URL or the local server by default. */
  natsUrl?: string;
  /** REDIS_URL or the local server by default: a test that stops Redis passes one of its own. */
  redisUrl?: string;
  /** How many gateways over the same subgraphs, each with its own connections (1 by default). */
  gateways?: number;
  /** Budgets per minute; by default too large to matter to other tests. */
  rateLimits?: RateLimits;
  /** How often the subgraphs' repair pass runs, and after how long it finishes a row (60 s). */
  repairIntervalMs?: number;
  /** The likes and comments subgraphs' bound on writes in flight (`WRITES_MAX_IN_FLIGHT`'s default). */
  writesMaxInFlight?: number;
  /** Caps on sockets and subscriptions of the in-process gateways, over the defaults below. */
  subscriptions?: Partial<SubscriptionLimits>;
  /** The in-process gateways' request limits, over the environment's defaults. */
  limits?: Partial<RequestLimits>;
  /** The first gateway's port; a free one by default. */
  gatewayPort?: number;
  /** Keep every service's info-level log lines in `logs`. */
  captureLogs?: boolean;
  /** The feed's timelines: the production defaults unless a test needs a small threshold. */
  timelines?: Partial<TimelineOptions>;
  /** Upload limits, media tools and blob store (GridFS in the feed's database by default). */
  media?: Partial<Pick<MediaOptions, 'maxBytes' | 'tools' | 'blobs'>>;
  /** The gateways' browser-facing options: CORS, the dev token route, trusted documents. */
  web?: Pick<GatewayDeps, 'cors' | 'devTokenSecret' | 'trustedDocuments'>;
}

/**
 * The stack, started again (from scratch, with new databases) when its gateway's port was taken
 * between choosing it and listening on it: test files run in parallel, each taking ports.
 */
export async function startStack(options: StackOptions = {}): Promise<TestStack> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startStackOnce(options);
    } catch (error) {
      const portTaken = (error as { code?: unknown }).code === 'EADDRINUSE';
      if (!portTaken || options.gatewayPort !== undefined || attempt === 3) throw error;
    }
  }
}

async function startStackOnce(options: StackOptions): Promise<TestStack> {
  const givenUri = options.mongoUri ?? process.env.MONGODB_URI;
  const ownMongo = givenUri ? undefined : await startMongo({ backend: 'memory', port: 0 });
  const uri = givenUri ?? (ownMongo as { uri: string }).uri;
  const commands: CommandStartedEvent[] = [];
  const allCommands: CommandStartedEvent[] = [];
  let recording = false;
  const mongo = await connectMongo(uri, {
    appName: 'tests',
    onCommand: (event) => {
      allCommands.push(event);
      if (recording) commands.push(event);
    },
  });
  const dbPrefix = `t${randomBytes(4).toString('hex')}`;
  const redisUrl = options.redisUrl ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const logs: Record<string, unknown>[] = [];
  const sink = { write: (line: string) => void logs.push(JSON.parse(line)) };
  /** One logger per service, as in separate processes, so log lines say which service wrote them. */
  const loggerOf = (service: string) =>
    options.captureLogs
      ? createLogger(service, 'info', sink)
      : createLogger(service, process.env.TEST_LOG_LEVEL ?? 'silent');
  const logger = loggerOf('test');
  const auth = createTokenVerifier(readAuthConfig({}));
  const common = {
    auth,
    host: '127.0.0.1',
    port: 0,
    repairIntervalMs: options.repairIntervalMs ?? 60_000,
  };
  const db = (name: string) => mongo.db(databaseName(dbPrefix, name));
  const engine = options.engine ?? (process.env.PUBSUB_ENGINE === 'redis' ? 'redis' : 'nats');
  const connections: EventClients[] = [];
  const caches: Cache[] = [];
  const cacheFor = (metrics: Metrics) => {
    const cache = connectCache({
      url: redisUrl,
      prefix: `${dbPrefix}:cache`,
      // Generous: a loaded test machine must not turn slow Redis answers into cache misses.
      timeoutMs: 2_000,
      ttlSeconds: 300,
      reconcileEveryMs: options.repairIntervalMs ?? 60_000,
      logger,
      metrics,
    });
    caches.push(cache);
    return cache;
  };
  const withCache = async (name: string) => {
    const clients = await events(name);
    return { events: clients, cache: cacheFor(clients.metrics) };
  };
  const connect = (name: string) =>
    connectEvents({
      natsUrl: options.natsUrl ?? process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
      redisUrl,
      engine,
      prefix: dbPrefix,
      name,
      logger,
      metrics: createMetrics(name.replace(/-\d+$/, '')),
    });
  /** Each service gets connections of its own, as separate processes would, closed with the stack. */
  const events = async (name: string) => {
    const clients = await connect(name);
    connections.push(clients);
    return clients;
  };

  const services: RunningService[] = [];
  // Known before the feed starts, so that media URLs point at the gateway as they do locally.
  const gatewayPort = options.gatewayPort ?? (await freePort());
  const feed = stopsOnce(
    await startFeed({
      ...common,
      logger: loggerOf('feed'),
      db: db('feed'),
      ...(await withCache('feed')),
      timelines: {
        length: 800,
        maxAgeDays: 7,
        maxFanOutFollowers: 10_000,
        followsReadInFull: 100,
        refreshMs: 60_000,
        ...options.timelines,
      },
      media: {
        blobs: options.media?.blobs ?? gridfsBlobStore(db('feed')),
        baseUrl: `http://127.0.0.1:${gatewayPort}`,
        maxBytes: options.media?.maxBytes ?? { PHOTO: 20_000_000, VIDEO: 200_000_000 },
        tools: options.media?.tools ?? { ffprobe: 'ffprobe', ffmpeg: 'ffmpeg' },
      },
    }),
  );
  services.push(feed);
  const likes = stopsOnce(
    await startLikes({
      ...common,
      logger: loggerOf('likes'),
      db: db('likes'),
      ...(await withCache('likes')),
      feedUrl: feed.url,
      writesMaxInFlight: options.writesMaxInFlight ?? DEFAULT_WRITES_MAX_IN_FLIGHT,
    }),
  );
  services.push(likes);
  const comments = stopsOnce(
    await startComments({
      ...common,
      logger: loggerOf('comments'),
      db: db('comments'),
      ...(await withCache('comments')),
      feedUrl: feed.url,
      writesMaxInFlight: options.writesMaxInFlight ?? DEFAULT_WRITES_MAX_IN_FLIGHT,
    }),
  );
  services.push(comments);
  // On a port of its own, so that a test can stop it and start it again behind the same URL.
  const notificationsPort = await freePort();
  const notificationsEvents = await events('notifications');
  const startNotificationsHere = async () =>
    stopsOnce(
      await startNotifications({
        ...common,
        port: notificationsPort,
        logger: loggerOf('notifications'),
        db: db('notifications'),
        events: notificationsEvents,
        config: { actorsKept: 10, batchIntervalMs: 200 },
        resolveUsernames: (names) => resolveUsernames(feed.url, names),
      }),
    );
  const subgraphs = { feed, likes, comments, notifications: await startNotificationsHere() };
  const redis = new Redis(redisUrl, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
  });
  redis.on('error', () => undefined);
  const rateLimits = options.rateLimits ?? {
    perIpPerMinute: 1_000_000,
    perUserPerMinute: 1_000_000,
    mutationsPerUserPerMinute: 1_000_000,
  };
  /** Every in-process service and connection, stopped: by `stop`, or by a start that failed. */
  const release = async () => {
    await subgraphs.notifications.stop();
    for (const service of [...services].reverse()) await service.stop();
    for (const clients of connections) await clients.close();
    for (const cache of caches) await cache.close();
    redis.disconnect();
    await mongo.close();
    await ownMongo?.stop();
  };
  /**
   * A gateway's port, chosen before the feed started, may have been taken meanwhile by another
   * test file (`startStack` then tries again). Left running, the subgraphs kept the test file's
   * process alive after its `before` failed, and the run hung.
   */
  const abandon = async (error: unknown): Promise<never> => {
    await release();
    throw error;
  };
  const gateways: RunningGateway[] = [];
  for (let i = 0; i < (options.gateways ?? 1); i++) {
    const gateway = await startGateway({
      ...common,
      port: i === 0 ? gatewayPort : 0,
      logger: loggerOf('gateway'),
      supergraphPath: options.supergraphPath ?? projectPath('schema/supergraph.graphql'),
      subgraphUrls: {
        feed: feed.url,
        likes: likes.url,
        comments: comments.url,
        notifications: subgraphs.notifications.url,
      },
      maxBodyBytes: 1_000_000,
      introspection: true,
      limits: { ...readRequestLimits({}), ...options.limits },
      subgraphTimeoutMs: 10_000,
      rateLimitRedis: redis,
      rateLimiter: createRateLimiter(redis, dbPrefix, rateLimits),
      events: await events(`gateway-${i}`),
      subscriptions: {
        pushesPerSecond: 4,
        maxPerConnection: 10,
        maxConnectionsPerUser: 20,
        maxConnectionsPerIp: 1_000,
        maxEngineSubscriptions: 20_000,
        maxBufferedBytes: 8_000_000,
        ...options.subscriptions,
      },
      persistedQueries: persistedQueryCache({
        redis,
        prefix: dbPrefix,
        ttlSeconds: 600,
        localBytes: 1_000_000,
        redisBytes: 10_000_000,
        maxQueryBytes: 50_000,
        logger: loggerOf('gateway'),
      }),
      ...options.web,
    }).catch(abandon);
    gateways.push(gateway);
    services.push(gateway);
  }
  const gateway = gateways[0] as RunningGateway;

  const children: ChildProcess[] = [];
  /**
   * A service of `dist/` as a child process on a port the kernel chooses (it tells us which over
   * IPC, `announceListening`), resolved once it is ready.
   */
  async function spawnService(
    entry: string,
    portVariable: string,
    env: Record<string, string>,
    stdout: 'inherit' | 'pipe' = 'inherit',
  ) {
    const child = spawn(process.execPath, [projectPath(`dist/${entry}`)], {
      env: {
        ...process.env,
        [portVariable]: '0',
        FEED_URL: feed.url,
        LIKES_URL: likes.url,
        COMMENTS_URL: comments.url,
        NOTIFICATIONS_URL: subgraphs.notifications.url,
        NATS_URL: options.natsUrl ?? process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
        REDIS_URL: redisUrl,
        PUBSUB_ENGINE: engine,
        EVENTS_PREFIX: dbPrefix,
        LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
        ...env,
      },
      stdio: ['ignore', stdout, 'inherit', 'ipc'],
    });
    // Drained from the start, so a test that never reads it cannot stall the child.
    child.stdout?.resume();
    children.push(child);
    const deadline = Date.now() + 20_000;
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`spawned ${entry} never listened`)), 20_000);
      child.on('message', (message: { type?: string; port?: number }) => {
        if (message.type !== 'listening' || typeof message.port !== 'number') return;
        clearTimeout(timer);
        resolve(message.port);
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`spawned ${entry} exited with ${code} before listening`));
      });
    });
    child.channel?.unref();
    const url = `http://127.0.0.1:${port}/graphql`;
    while (
      !(await fetch(`http://127.0.0.1:${port}/health/ready`).then(
        (r) => r.ok,
        () => false,
      ))
    ) {
      if (Date.now() > deadline || child.exitCode !== null)
        throw new Error(`spawned ${entry} not ready`);
      await delay(100);
    }
    return { url, process: child };
  }
  const tokens = new Map<string, string>();
  const stack: TestStack = {
    gatewayUrl: gateway.url,
    gateways,
    subgraphs,
    logs,
    urls: {
      feed: feed.url,
      likes: likes.url,
      comments: comments.url,
      notifications: subgraphs.notifications.url,
    },
    async restartNotifications() {
      await subgraphs.notifications.stop();
      subgraphs.notifications = await startNotificationsHere();
    },
    mongo,
    dbPrefix,
    cache: cacheFor(createMetrics('test')),
    async flushCache() {
      const keys = await redis.keys(`${dbPrefix}:cache:*`);
      if (keys.length > 0) await redis.del(...keys);
    },
    commands,
    allCommands,
    async record(work) {
      commands.length = 0;
      recording = true;
      try {
        const result = await work();
        return { result, commands: [...commands] };
      } finally {
        recording = false;
      }
    },
    async recordQuery(work) {
      const { result, commands: recorded } = await this.record(work);
      const background = databaseName(dbPrefix, 'notifications');
      return { result, commands: recorded.filter((c) => c.databaseName !== background) };
    },
    connectEvents: connect,
    async token(userId) {
      const cached = tokens.get(userId);
      if (cached) return cached;
      const token = await signDevToken(userId);
      tokens.set(userId, token);
      return token;
    },
    async gql(query, variables, options = {}) {
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        ...options.headers,
      };
      const token = options.token ?? (options.as ? await stack.token(options.as) : undefined);
      if (token) headers.authorization = `Bearer ${token}`;
      const response = await fetch(options.url ?? gateway.url, {
        method: 'POST',
        headers,
        body: JSON.stringify({ query, variables }),
      });
      const text = await response.text();
      let body: { data?: any; errors?: GraphQLResult['errors'] };
      try {
        body = JSON.parse(text);
      } catch {
        throw new Error(`not JSON (${response.status}): ${text.slice(0, 200)}`);
      }
      return {
        status: response.status,
        headers: response.headers,
        data: body.data,
        errors: body.errors,
      };
    },
    /**
     * Stops everything, then holds the whole run to the sharding rule: every command any test of
     * the file caused must carry its shard key (tests/helpers/shard-keys.ts).
     */
    spawnGateway(extraEnv = {}) {
      return spawnService('gateway/index.js', 'GATEWAY_PORT', {
        SUPERGRAPH_PATH: options.supergraphPath ?? projectPath('schema/supergraph.graphql'),
        SUBSCRIPTIONS_PER_CONNECTION: '10',
        RATE_LIMIT_IP_PER_MINUTE: String(rateLimits.perIpPerMinute),
        RATE_LIMIT_USER_PER_MINUTE: String(rateLimits.perUserPerMinute),
        RATE_LIMIT_MUTATIONS_PER_MINUTE: String(rateLimits.mutationsPerUserPerMinute),
        ...extraEnv,
      });
    },
    spawnSubgraph(name, extraEnv = {}) {
      return spawnService(
        `subgraphs/${name}/index.js`,
        `${name.toUpperCase()}_PORT`,
        { MONGODB_URI: uri, MONGODB_DB_PREFIX: dbPrefix, REPAIR_INTERVAL_MS: '60000', ...extraEnv },
        'pipe',
      );
    },
    async stop() {
      await Promise.all(
        children.map(
          (child) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null) return resolve();
              child.once('exit', () => resolve());
              child.kill('SIGTERM');
            }),
        ),
      );
      await release();
      const violations = shardKeyViolations(allCommands, dbPrefix);
      if (violations.length > 0) {
        throw new Error(`commands without their shard key:\n  ${violations.join('\n  ')}`);
      }
    },
  };
  return stack;
}

/** A service whose `stop` runs once however often it is called: tests may stop one early. */
function stopsOnce(service: RunningService): RunningService {
  let stopping: Promise<void> | undefined;
  return { ...service, stop: () => (stopping ??= service.stop()) };
}

/** The data of a result that must have no errors. */
export function ok<T>(result: GraphQLResult<T>): T {
  if (result.errors?.length || !result.data) {
    throw new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`);
  }
  return result.data;
}

/** The codes of a result's errors. */
export function codes(result: GraphQLResult<unknown>): (string | undefined)[] {
  return (result.errors ?? []).map((error) => error.extensions?.code);
}
