import { Redis } from 'ioredis';
import { createTokenVerifier, readAuthConfig } from '../platform/auth.js';
import { ConfigError, int, oneOf, optionalStr, readEnv, str } from '../platform/env.js';
import { createLogger } from '../platform/logger.js';
import { projectPath } from '../platform/paths.js';
import { createMetrics } from '../platform/metrics.js';
import { connectEvents } from '../platform/pubsub.js';
import { readRequestLimits } from '../platform/request-limits.js';
import { announceListening, readServiceEnv, stopOnSignals } from '../platform/service.js';
import { startTracing } from '../platform/tracing.js';
import { DEV_WEB_ORIGINS } from './cors.js';
import { persistedQueryCache } from './persisted-queries.js';
import { createRateLimiter } from './rate-limit.js';
import { startGateway } from './server.js';
import { loadTrustedDocuments } from './trusted-documents.js';

const service = readServiceEnv('GATEWAY_PORT', 4000);
const env = readEnv({
  SUPERGRAPH_PATH: str(projectPath('schema/supergraph.graphql')),
  MAX_BODY_BYTES: int(1_000_000, 1_000, 100_000_000),
  INTROSPECTION: oneOf(['on', 'off'], process.env.NODE_ENV === 'production' ? 'off' : 'on'),
  SUBGRAPH_TIMEOUT_MS: int(10_000, 100, 600_000),
  RATE_LIMIT_IP_PER_MINUTE: int(1_200, 1, 10_000_000),
  RATE_LIMIT_USER_PER_MINUTE: int(600, 1, 10_000_000),
  RATE_LIMIT_MUTATIONS_PER_MINUTE: int(60, 1, 10_000_000),
  SUBSCRIPTION_PUSHES_PER_SECOND: int(4, 1, 100),
  SUBSCRIPTIONS_PER_CONNECTION: int(50, 1, 10_000),
  CORS_ORIGINS: optionalStr(),
  CORS_MAX_AGE_SECONDS: int(600, 0, 86_400),
  PERSISTED_DOCUMENTS_PATH: str(projectPath('web/src/gql/persisted-documents.json')),
  PERSISTED_DOCUMENTS_ONLY: oneOf(['true', 'false'], 'false'),
  PERSISTED_QUERIES_LOCAL_BYTES: int(10_000_000, 0, 10_000_000_000),
  PERSISTED_QUERIES_REDIS_BYTES: int(50_000_000, 0, 100_000_000_000),
  STREAMING_CONNECTIONS_PER_USER: int(20, 1, 100_000),
  STREAMING_CONNECTIONS_PER_IP: int(1_000, 1, 1_000_000),
  MAX_ENGINE_SUBSCRIPTIONS: int(20_000, 10, 10_000_000),
  STREAM_MAX_BUFFERED_BYTES: int(8_000_000, 65_536, 1_000_000_000),
});
const authConfig = readAuthConfig();
const limits = readRequestLimits();
// One answer may be that large: a bound below it would cut off a client reading at full speed.
if (env.STREAM_MAX_BUFFERED_BYTES < limits.maxResponseBytes)
  throw new ConfigError([
    `STREAM_MAX_BUFFERED_BYTES (${env.STREAM_MAX_BUFFERED_BYTES}) must be at least MAX_RESPONSE_BYTES (${limits.maxResponseBytes})`,
  ]);
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
  subgraphUrls: {
    feed: service.feedUrl,
    likes: service.likesUrl,
    comments: service.commentsUrl,
    notifications: service.notificationsUrl,
  },
  auth: createTokenVerifier(authConfig),
  cors: {
    // Comma-separated; production grants no origin unless told which.
    origins:
      env.CORS_ORIGINS?.split(',')
        .map((origin) => origin.trim())
        .filter(Boolean) ?? (authConfig.mode === 'production' ? [] : DEV_WEB_ORIGINS),
    maxAgeSeconds: env.CORS_MAX_AGE_SECONDS,
  },
  // Anyone could sign in as anyone through it: development mode only.
  ...(authConfig.mode === 'development' &&
    authConfig.secret !== undefined && { devTokenSecret: authConfig.secret }),
  trustedDocuments: await loadTrustedDocuments(
    env.PERSISTED_DOCUMENTS_PATH,
    env.PERSISTED_DOCUMENTS_ONLY === 'true',
  ),
  logger,
  host: service.host,
  port: service.port,
  maxBodyBytes: env.MAX_BODY_BYTES,
  introspection: env.INTROSPECTION === 'on',
  limits,
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
    localBytes: env.PERSISTED_QUERIES_LOCAL_BYTES,
    redisBytes: env.PERSISTED_QUERIES_REDIS_BYTES,
    maxQueryBytes: limits.maxQueryBytes,
    logger,
  }),
  subscriptions: {
    pushesPerSecond: env.SUBSCRIPTION_PUSHES_PER_SECOND,
    maxPerConnection: env.SUBSCRIPTIONS_PER_CONNECTION,
    maxConnectionsPerUser: env.STREAMING_CONNECTIONS_PER_USER,
    maxConnectionsPerIp: env.STREAMING_CONNECTIONS_PER_IP,
    maxEngineSubscriptions: env.MAX_ENGINE_SUBSCRIPTIONS,
    maxBufferedBytes: env.STREAM_MAX_BUFFERED_BYTES,
  },
});
announceListening(gateway.port);
stopOnSignals(logger, async () => {
  await gateway.stop();
  await events.close();
  redis.disconnect();
  await tracing.shutdown();
});
