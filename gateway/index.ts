import { Redis } from 'ioredis';
import { createTokenVerifier, readAuthConfig } from '../platform/auth.js';
import { int, oneOf, readEnv, str } from '../platform/env.js';
import { createLogger } from '../platform/logger.js';
import { projectPath } from '../platform/paths.js';
import { createMetrics } from '../platform/metrics.js';
import { connectEvents } from '../platform/pubsub.js';
import { readServiceEnv, stopOnSignals } from '../platform/service.js';
import { startTracing } from '../platform/tracing.js';
import { persistedQueryCache } from './persisted-queries.js';
import { createRateLimiter } from './rate-limit.js';
import { startGateway } from './server.js';

const service = readServiceEnv('GATEWAY_PORT', 4000);
const env = readEnv({
  SUPERGRAPH_PATH: str(projectPath('schema/supergraph.graphql')),
  MAX_BODY_BYTES: int(1_000_000, 1_000, 100_000_000),
  INTROSPECTION: oneOf(['on', 'off'], process.env.NODE_ENV === 'production' ? 'off' : 'on'),
  SUBGRAPH_TIMEOUT_MS: int(10_000, 100, 600_000),
  MAX_QUERY_DEPTH: int(12, 2, 100),
  MAX_QUERY_FIELDS: int(1_000, 10, 100_000),
  RATE_LIMIT_IP_PER_MINUTE: int(1_200, 1, 10_000_000),
  RATE_LIMIT_USER_PER_MINUTE: int(600, 1, 10_000_000),
  RATE_LIMIT_MUTATIONS_PER_MINUTE: int(60, 1, 10_000_000),
  SUBSCRIPTION_PUSHES_PER_SECOND: int(4, 1, 100),
  SUBSCRIPTIONS_PER_CONNECTION: int(50, 1, 10_000),
  STREAMING_CONNECTIONS_PER_USER: int(20, 1, 100_000),
  STREAMING_CONNECTIONS_PER_IP: int(1_000, 1, 1_000_000),
  MAX_ENGINE_SUBSCRIPTIONS: int(20_000, 10, 10_000_000),
});
const logger = createLogger('gateway', service.logLevel);
// Before anything creates spans: the gateway's own spans need the provider registered.
const tracing = await startTracing('gateway', logger);
const events = await connectEvents({
  natsUrl: service.natsUrl,
  redisUrl: service.redisUrl,
  engine: service.pubsubEngine,
  prefix: service.eventsPrefix,
  name: 'gateway',
  logger,
  metrics: createMetrics('gateway'),
});
// Its own connection for the request path (rate limits, persisted queries): commands must not
// queue behind pub/sub traffic, nor wait for a Redis that is away (both fall back to memory then).
// Commands of concurrent requests issued in the same tick go out in one write.
const redis = new Redis(service.redisUrl, {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  enableAutoPipelining: true,
});
redis.on('error', (error: Error) => logger.warn({ err: error }, 'redis (request path) error'));
const gateway = await startGateway({
  supergraphPath: env.SUPERGRAPH_PATH,
  subgraphUrls: { feed: service.feedUrl, likes: service.likesUrl, comments: service.commentsUrl },
  auth: createTokenVerifier(readAuthConfig()),
  logger,
  host: service.host,
  port: service.port,
  maxBodyBytes: env.MAX_BODY_BYTES,
  introspection: env.INTROSPECTION === 'on',
  limits: { maxDepth: env.MAX_QUERY_DEPTH, maxFields: env.MAX_QUERY_FIELDS },
  subgraphTimeoutMs: env.SUBGRAPH_TIMEOUT_MS,
  rateLimitRedis: redis,
  rateLimiter: createRateLimiter(redis, service.eventsPrefix, {
    perIpPerMinute: env.RATE_LIMIT_IP_PER_MINUTE,
    perUserPerMinute: env.RATE_LIMIT_USER_PER_MINUTE,
    mutationsPerUserPerMinute: env.RATE_LIMIT_MUTATIONS_PER_MINUTE,
  }),
  events,
  persistedQueries: persistedQueryCache({
    redis,
    prefix: service.eventsPrefix,
    ttlSeconds: 7 * 86_400,
    localEntries: 2_000,
    logger,
  }),
  subscriptions: {
    pushesPerSecond: env.SUBSCRIPTION_PUSHES_PER_SECOND,
    maxPerConnection: env.SUBSCRIPTIONS_PER_CONNECTION,
    maxConnectionsPerUser: env.STREAMING_CONNECTIONS_PER_USER,
    maxConnectionsPerIp: env.STREAMING_CONNECTIONS_PER_IP,
    maxEngineSubscriptions: env.MAX_ENGINE_SUBSCRIPTIONS,
  },
});
stopOnSignals(logger, async () => {
  await gateway.stop();
  await events.close();
  redis.disconnect();
  await tracing.shutdown();
});
