import { readFileSync } from 'node:fs';
import type { IncomingMessage, Server } from 'node:http';
import { ApolloServer } from '@apollo/server';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginInlineTraceDisabled,
} from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema, type GraphQLResolverMap } from '@apollo/subgraph';
import { parse } from 'graphql';
import type { Db } from 'mongodb';
import { connectCache, type Cache } from './cache.js';
import { guardEntityRepresentations } from './entity-representations.js';
import { createTokenVerifier, readAuthConfig, type TokenVerifier, type Viewer } from './auth.js';
import { consumePostEvents } from './durable-events.js';
import type { PostEvent } from './events.js';
import { logInternalErrors, maskError } from './errors.js';
import { closeServer, createGraphQLHttpService, listen, type Route } from './http.js';
import { createLogger, type Logger } from './logger.js';
import { createMetrics, operationMetrics, type Metrics } from './metrics.js';
import { connectMongo, databaseName, pingMongo } from './mongo.js';
import { projectPath } from './paths.js';
import {
  operationLimits,
  readRequestLimits,
  subgraphLimits,
  type RequestLimits,
} from './request-limits.js';
import { connectEvents, type EventClients } from './pubsub.js';
import { wellFormedVariables } from './text.js';
import { validatedOperations } from './validated-operations.js';
import {
  announceListening,
  every,
  readServiceEnv,
  stopOnSignals,
  type ServiceEnv,
} from './service.js';
import { startTracing } from './tracing.js';

/** What every subgraph request knows before its own context is built. */
export interface RequestBase {
  /** For per-request instruments, such as DataLoader batch sizes. */
  metrics: Metrics;
  viewer: Viewer | null;
  requestId: string;
  /** The caller's Authorization header, forwarded when this subgraph calls another one. */
  authorization: string | undefined;
  log: Logger;
}

export interface SubgraphOptions<Ctx extends RequestBase> {
  name: string;
  resolvers: GraphQLResolverMap<Ctx>;
  context: (base: RequestBase) => Ctx;
  auth: TokenVerifier;
  logger: Logger;
  host: string;
  port: number;
  ready: () => Promise<boolean>;
  metrics: Metrics;
  maxBodyBytes?: number;
  /** The environment's limits with headroom (`subgraphLimits`); their defaults when absent. */
  limits?: RequestLimits;
  routes?: Record<string, Route>;
}

export interface RunningService {
  url: string;
  port: number;
  server: Server;
  stop(): Promise<void>;
}

/** The subgraph's SDL, `schema/<name>.graphql`, the same file composition reads. */
export function subgraphTypeDefs(name: string) {
  return parse(readFileSync(projectPath(`schema/${name}.graphql`), 'utf8'));
}

export async function startSubgraph<Ctx extends RequestBase>(
  options: SubgraphOptions<Ctx>,
): Promise<RunningService> {
  const { logger } = options;
  const limits = options.limits ?? subgraphLimits(readRequestLimits({}));
  const typeDefs = subgraphTypeDefs(options.name);
  const schema = buildSubgraphSchema([
    { typeDefs, resolvers: options.resolvers as GraphQLResolverMap },
  ]);
  guardEntityRepresentations(schema, typeDefs);
  const context = async (req: IncomingMessage, requestId: string) => {
    const authorization = req.headers.authorization;
    const log = logger.child({ requestId });
    const viewer = await options.auth.fromHeader(authorization);
    return options.context({ viewer, requestId, authorization, log, metrics: options.metrics });
  };
  const validated = validatedOperations({
    schema,
    limits,
    context,
    metrics: options.metrics,
    logger,
  });
  const apollo = new ApolloServer<Ctx>({
    schema,
    logger,
    includeStacktraceInErrorResponses: false,
    // Our own shutdown drains connections first; Apollo's would stop mid-request.
    stopOnTerminationSignals: false,
    formatError: maskError,
    plugins: [
      logInternalErrors(logger),
      operationMetrics(options.metrics),
      // Defence in depth: a subgraph reached directly, without the gateway, is held to the same
      // cost model, and to a cap on `_entities` batches.
      operationLimits(limits),
      wellFormedVariables(),
      // Installed by default, each wraps every resolver of every request: federated traces (ftv1)
      // feed Apollo's hosted usage reporting, cache hints HTTP caching; we use neither.
      ApolloServerPluginInlineTraceDisabled(),
      ApolloServerPluginCacheControlDisabled(),
      // Its later requests are answered without this pipeline (`validatedOperations`).
      validated.plugin,
    ],
  });
  await apollo.start();

  const http = createGraphQLHttpService<Ctx>({
    apollo,
    logger,
    metrics: options.metrics,
    maxBodyBytes: options.maxBodyBytes ?? 1_000_000,
    limits,
    ready: options.ready,
    routes: options.routes,
    context,
    answerDirectly: validated.answer,
  });
  const stop = async () => {
    http.beginShutdown();
    await closeServer(http.server);
    await apollo.stop();
  };
  // A port already taken: the server started above must not keep the process alive, failed.
  const port = await listen(http.server, options.port, options.host).catch(
    async (error: unknown) => {
      await stop();
      throw error;
    },
  );
  logger.info({ port }, `${options.name} subgraph listening`);
  return { url: `http://${options.host}:${port}/graphql`, port, server: http.server, stop };
}

export interface SubgraphStores {
  ensureIndexes(): Promise<void>;
  /** Finishes writes left half-done for longer than `olderThanMs`; returns how many. */
  repair(olderThanMs: number): Promise<number>;
}

export interface SubgraphServiceOptions<Ctx extends RequestBase> extends Omit<
  SubgraphOptions<Ctx>,
  'ready' | 'metrics'
> {
  db: Db;
  stores: SubgraphStores;
  repairIntervalMs: number;
  events: EventClients;
  /**
   * Runs for every event of the feed's durable post topic, from this subgraph's durable consumer,
   * so it must be idempotent: an event that failed or died with the process comes again.
   */
  postEvents?: (event: PostEvent) => Promise<void>;
  /** Another dependency readiness waits for, beside the database and events (object storage). */
  alsoReady?: () => Promise<boolean>;
}

/**
 * A subgraph with its database and events: indexes ensured before the first request, the repair
 * pass on a timer (first run at start-up, for what a crash left behind), the durable consumer of
 * post events, and readiness tied to the database and the event connections.
 */
export async function startSubgraphService<Ctx extends RequestBase>(
  options: SubgraphServiceOptions<Ctx>,
): Promise<RunningService> {
  const { db, stores, logger } = options;
  await stores.ensureIndexes();
  const repairOnce = async () => {
    const repaired = await stores.repair(options.repairIntervalMs);
    if (repaired > 0) logger.warn({ repaired }, 'repaired unfinished writes');
  };
  await repairOnce();
  const stopRepair = every(options.repairIntervalMs, repairOnce, logger);
  const { events, postEvents } = options;
  const stopConsumer = postEvents
    ? await consumePostEvents(events, `${options.name}-post-events`, postEvents)
    : async () => undefined;
  const service = await startSubgraph({
    ...options,
    metrics: events.metrics,
    ready: async () =>
      events.nats.connected() &&
      events.pubsub.connected() &&
      (await pingMongo(db)) &&
      (!options.alsoReady || (await options.alsoReady())),
  }).catch(async (error: unknown) => {
    // Not listening: the repair timer and the consumer would keep the process alive, failed.
    await stopConsumer();
    await stopRepair();
    throw error;
  });
  return {
    ...service,
    async stop() {
      await stopConsumer();
      await stopRepair();
      await service.stop();
    },
  };
}

/** The post-event handler of a subgraph that keeps data about posts: a deleted post's goes. */
export function forgetDeletedPosts(forget: (postId: string) => Promise<void>) {
  return async (event: PostEvent): Promise<void> => {
    if (event.type === 'post.deleted') await forget(event.postId);
  };
}

/** What every subgraph's server is started with; each adds what it alone needs. */
export interface SubgraphServiceDeps {
  db: Db;
  auth: TokenVerifier;
  logger: Logger;
  host: string;
  port: number;
  repairIntervalMs: number;
  events: EventClients;
}

export interface SubgraphProcessDeps extends SubgraphServiceDeps {
  cache: Cache;
  env: ServiceEnv;
  /** Reaches `startSubgraph` through the subgraph's deps, which each server spreads into its options. */
  limits: RequestLimits;
}

/** A subgraph's entrypoint: configuration from the environment, connect, start, stop on signals. */
export async function runSubgraphProcess(
  name: string,
  portVariable: string,
  defaultPort: number,
  start: (deps: SubgraphProcessDeps) => Promise<RunningService>,
): Promise<void> {
  const env = readServiceEnv(portVariable, defaultPort);
  const limits = subgraphLimits(readRequestLimits());
  const logger = createLogger(name, env.logLevel);
  const tracing = await startTracing(name, logger);
  const metrics = createMetrics(name);
  const mongo = await connectMongo(env.mongoUri, {
    appName: name,
    onCommand: (event) => metrics.mongoCommands.inc({ command: event.commandName }),
  });
  const events = await connectEvents({
    natsUrl: env.natsUrl,
    redisUrl: env.redisUrl,
    engine: env.pubsubEngine,
    prefix: env.eventsPrefix,
    name,
    logger,
    metrics,
  });
  const cache = connectCache({
    url: env.redisUrl,
    prefix: `${env.eventsPrefix}:cache`,
    timeoutMs: env.cacheTimeoutMs,
    ttlSeconds: env.cacheTtlSeconds,
    reconcileEveryMs: env.repairIntervalMs,
    reconcileKeysPerPass: env.cacheReconcileKeys,
    logger,
    metrics,
  });
  const service = await start({
    db: mongo.db(databaseName(env.dbPrefix, name)),
    events,
    cache,
    auth: createTokenVerifier(readAuthConfig()),
    logger,
    host: env.host,
    port: env.port,
    repairIntervalMs: env.repairIntervalMs,
    env,
    limits,
  });
  announceListening(service.port);
  stopOnSignals(logger, async () => {
    await service.stop();
    await events.close();
    await cache.close();
    await mongo.close();
    await tracing.shutdown();
  });
}
