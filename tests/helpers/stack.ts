import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type { CommandStartedEvent, MongoClient } from 'mongodb';
import { createTokenVerifier, readAuthConfig, signDevToken } from '../../platform/auth.js';
import { createLogger } from '../../platform/logger.js';
import { createMetrics } from '../../platform/metrics.js';
import { connectMongo, databaseName } from '../../platform/mongo.js';
import { projectPath } from '../../platform/paths.js';
import { connectEvents, type EventClients } from '../../platform/pubsub.js';
import type { RunningService } from '../../platform/subgraph.js';
import { persistedQueryCache } from '../../gateway/persisted-queries.js';
import { createRateLimiter, type RateLimits } from '../../gateway/rate-limit.js';
import { startGateway, type RunningGateway } from '../../gateway/server.js';
import { startComments } from '../../subgraphs/comments/server.js';
import { startFeed } from '../../subgraphs/feed/server.js';
import { startLikes } from '../../subgraphs/likes/server.js';
import { freePort, startMongo } from '../../scripts/services.js';
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
  urls: { feed: string; likes: string; comments: string };
  mongo: MongoClient;
  dbPrefix: string;
  /** The commands of the last `record` call. */
  commands: CommandStartedEvent[];
  /** Every command the subgraphs sent to the database since the stack started. */
  allCommands: CommandStartedEvent[];
  record<T>(work: () => Promise<T>): Promise<{ result: T; commands: CommandStartedEvent[] }>;
  token(userId: string): Promise<string>;
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
  stop(): Promise<void>;
}

/**
 * The whole supergraph in this process, on port 0, against the Mongo-wire server named by
 * MONGODB_URI (started here when it is not set), with databases of a random prefix: tests share
 * nothing with each other or with a developer's data.
 */
export interface StackOptions {
  supergraphPath?: string;
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
  /** Keep every service's info-level log lines in `logs`. */
  captureLogs?: boolean;
}

export async function startStack(options: StackOptions = {}): Promise<TestStack> {
  const ownMongo = process.env.MONGODB_URI
    ? undefined
    : await startMongo({ backend: 'memory', port: 0 });
  const uri = process.env.MONGODB_URI ?? (ownMongo as { uri: string }).uri;
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
  const common = { auth, host: '127.0.0.1', port: 0, repairIntervalMs: 60_000 };
  const db = (name: string) => mongo.db(databaseName(dbPrefix, name));
  const engine = options.engine ?? (process.env.PUBSUB_ENGINE === 'redis' ? 'redis' : 'nats');
  const connections: EventClients[] = [];
  /** Each service gets connections of its own, as separate processes would. */
  const events = async (name: string) => {
    const clients = await connectEvents({
      natsUrl: options.natsUrl ?? process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
      redisUrl,
      engine,
      prefix: dbPrefix,
      name,
      logger,
      metrics: createMetrics(name.replace(/-\d+$/, '')),
    });
    connections.push(clients);
    return clients;
  };

  const services: RunningService[] = [];
  const feed = await startFeed({
    ...common,
    logger: loggerOf('feed'),
    db: db('feed'),
    events: await events('feed'),
  });
  services.push(feed);
  const likes = await startLikes({
    ...common,
    logger: loggerOf('likes'),
    db: db('likes'),
    events: await events('likes'),
    feedUrl: feed.url,
  });
  services.push(likes);
  const comments = await startComments({
    ...common,
    logger: loggerOf('comments'),
    db: db('comments'),
    events: await events('comments'),
    feedUrl: feed.url,
  });
  services.push(comments);
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
  const gateways: RunningGateway[] = [];
  for (let i = 0; i < (options.gateways ?? 1); i++) {
    const gateway = await startGateway({
      ...common,
      logger: loggerOf('gateway'),
      supergraphPath: options.supergraphPath ?? projectPath('schema/supergraph.graphql'),
      subgraphUrls: { feed: feed.url, likes: likes.url, comments: comments.url },
      maxBodyBytes: 1_000_000,
      introspection: true,
      limits: { maxDepth: 12, maxFields: 1_000 },
      subgraphTimeoutMs: 10_000,
      rateLimiter: createRateLimiter(redis, dbPrefix, rateLimits),
      events: await events(`gateway-${i}`),
      subscriptions: { pushesPerSecond: 4, maxPerConnection: 10 },
      persistedQueries: persistedQueryCache({
        redis,
        prefix: dbPrefix,
        ttlSeconds: 600,
        localEntries: 100,
        logger: loggerOf('gateway'),
      }),
    });
    gateways.push(gateway);
    services.push(gateway);
  }
  const gateway = gateways[0] as RunningGateway;

  const children: ChildProcess[] = [];
  const tokens = new Map<string, string>();
  const stack: TestStack = {
    gatewayUrl: gateway.url,
    gateways,
    logs,
    urls: { feed: feed.url, likes: likes.url, comments: comments.url },
    mongo,
    dbPrefix,
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
    async spawnGateway(extraEnv = {}) {
      const port = await freePort();
      const child = spawn(process.execPath, [projectPath('dist/gateway/index.js')], {
        env: {
          ...process.env,
          GATEWAY_PORT: String(port),
          FEED_URL: feed.url,
          LIKES_URL: likes.url,
          COMMENTS_URL: comments.url,
          SUPERGRAPH_PATH: options.supergraphPath ?? projectPath('schema/supergraph.graphql'),
          NATS_URL: options.natsUrl ?? process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
          REDIS_URL: redisUrl,
          PUBSUB_ENGINE: engine,
          EVENTS_PREFIX: dbPrefix,
          SUBSCRIPTIONS_PER_CONNECTION: '10',
          RATE_LIMIT_IP_PER_MINUTE: String(rateLimits.perIpPerMinute),
          RATE_LIMIT_USER_PER_MINUTE: String(rateLimits.perUserPerMinute),
          RATE_LIMIT_MUTATIONS_PER_MINUTE: String(rateLimits.mutationsPerUserPerMinute),
          LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
          ...extraEnv,
        },
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      children.push(child);
      const url = `http://127.0.0.1:${port}/graphql`;
      const deadline = Date.now() + 20_000;
      while (
        !(await fetch(`http://127.0.0.1:${port}/health/ready`).then(
          (r) => r.ok,
          () => false,
        ))
      ) {
        if (Date.now() > deadline || child.exitCode !== null)
          throw new Error('spawned gateway not ready');
        await delay(100);
      }
      return { url, process: child };
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
      for (const service of services.reverse()) await service.stop();
      for (const clients of connections) await clients.close();
      redis.disconnect();
      await mongo.close();
      await ownMongo?.stop();
      const violations = shardKeyViolations(allCommands, dbPrefix);
      if (violations.length > 0) {
        throw new Error(`commands without their shard key:\n  ${violations.join('\n  ')}`);
      }
    },
  };
  return stack;
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
