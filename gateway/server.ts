import { ApolloGateway, type ServiceEndpointDefinition } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import type { DocumentNode, GraphQLSchema } from 'graphql';
import type { Redis } from 'ioredis';
import type { TokenVerifier } from '../platform/auth.js';
import { logInternalErrors, maskError } from '../platform/errors.js';
import { closeServer, createGraphQLHttpService, listen } from '../platform/http.js';
import type { Logger } from '../platform/logger.js';
import { operationMetrics } from '../platform/metrics.js';
import type { EventClients } from '../platform/pubsub.js';
import type { RunningService } from '../platform/subgraph.js';
import { wellFormedVariables } from '../platform/text.js';
import type { GatewayContext } from './context.js';
import { deferLabels } from './defer/defer-labels.js';
import { deferredDelivery } from './defer/deferred-delivery.js';
import { allowCrossOrigin, DEV_WEB_ORIGINS, type CorsOptions } from './cors.js';
import { devTokenRoutes } from './dev-tokens.js';
import { CompiledOperations } from './execution/compiled-operations.js';
import { compiledRequests } from './execution/compiled-requests.js';
import { errorBehavior, errorBehaviorGateway, relaxedSupergraph } from './error-behavior.js';
import { introspection } from './introspection.js';
import { mediaProxyRoutes } from './media-proxy.js';
import { operationResolution } from './plugins/operation-resolution.js';
import type { QueryCache } from './persisted-queries.js';
import { queryLimits, type QueryLimits } from './query-limits.js';
import { rateLimit, type RateLimiter } from './rate-limit.js';
import { SubgraphSource } from './subgraph-source.js';
import { subscriptionOperations } from './plugins/subscription-operations.js';
import { ConnectionCaps } from './subscriptions/connection-caps.js';
import { LiveSubscriptions } from './subscriptions/live-subscriptions.js';
import {
  acceptsMultipartSubscription,
  MultipartSubscriptions,
  withMultipartSubscriptionAccept,
} from './subscriptions/multipart.js';
import { SlowReaders } from './subscriptions/slow-readers.js';
import { viewerDependence } from './subscriptions/viewer-dependence.js';
import { startWebSocketTransport } from './subscriptions/websocket.js';
import { supergraphFromFile } from './supergraph-file.js';
import {
  admit,
  trustedDocumentsPlugin,
  withTrustedDocuments,
  type TrustedDocuments,
} from './trusted-documents.js';

export interface GatewayDeps {
  supergraphPath: string;
  /** Per subgraph name, a URL that replaces the supergraph's routing URL. */
  subgraphUrls: Record<string, string>;
  auth: TokenVerifier;
  logger: Logger;
  host: string;
  port: number;
  maxBodyBytes: number;
  introspection: boolean;
  limits: QueryLimits;
  rateLimiter: RateLimiter;
  /** The rate limiter's connection: readiness requires it, since budgets are shared through it. */
  rateLimitRedis: Pick<Redis, 'status'>;
  subgraphTimeoutMs: number;
  /** Live events for subscriptions, and the process's metrics. */
  events: EventClients;
  subscriptions: SubscriptionLimits;
  /** Where automatic persisted queries live: shared by every replica (`persistedQueryCache`). */
  persistedQueries: QueryCache;
  /** Browser apps' origins; by default the web app's development origins (`DEV_WEB_ORIGINS`). */
  cors?: CorsOptions;
  /** Signs demo sign-in tokens at `POST /dev/token`; the route exists only when this is given. */
  devTokenSecret?: string;
  /** The apps' operations by hash; with `only`, nothing else runs (HTTP and WebSocket alike). */
  trustedDocuments?: TrustedDocuments;
}

export interface SubscriptionLimits {
  /** The most pushes of one post's counts per second. */
  pushesPerSecond: number;
  /** Subscriptions open at once on one WebSocket. */
  maxPerConnection: number;
  /** Streaming connections (WebSockets, multipart subscriptions) open at once by one user. */
  maxConnectionsPerUser: number;
  /** The same, from one client address. */
  maxConnectionsPerIp: number;
  /** Engine subscriptions (one per topic and watched post) this process holds at most. */
  maxEngineSubscriptions: number;
  /**
   * Bytes a streaming connection (WebSocket, multipart subscription) may leave unsent: past it
   * its client is taken to have stopped reading, and the connection is cut off.
   */
  maxBufferedBytes: number;
}

export interface RunningGateway extends RunningService {
  /** Engine subscriptions open in this process (one per topic and watched post). */
  engineSubscriptions(): number;
}

/**
 * A GET must carry a header no cross-site form or link can send. Apollo's two, and
 * Authorization: a request with it is preflighted by every browser, and it is how every client
 * of this API authenticates, so urql's GET queries (its default) pass as they come.
 */
const CSRF_HEADERS = ['x-apollo-operation-name', 'apollo-require-preflight', 'authorization'];

export async function startGateway(deps: GatewayDeps): Promise<RunningGateway> {
  const { logger } = deps;
  // @apollo/gateway otherwise reports usage to Apollo's servers and probes cloud metadata
  // endpoints at start-up; its constructor reads this switch, which no option replaces.
  process.env.APOLLO_TELEMETRY_DISABLED = 'true';
  const buildService = ({ name, url }: ServiceEndpointDefinition) =>
    new SubgraphSource(
      name,
      deps.subgraphUrls[name] ?? url ?? '',
      deps.events.metrics,
      deps.subgraphTimeoutMs,
    );
  const compiled = new CompiledOperations(logger, deps.events.metrics);
  const gatewayOn = (
    transform?: (sdl: string) => string,
    planStoreMiB?: number,
    planResolved?: CompiledOperations['planResolved'],
  ) =>
    new ApolloGateway({
      supergraphSdl: supergraphFromFile(deps.supergraphPath, logger, transform),
      experimental_approximateQueryPlanStoreMiB: planStoreMiB,
      experimental_didResolveQueryPlan: planResolved,
      buildService,
      logger,
    });
  const deferred = deferredDelivery({
    buildService,
    formatError: maskError,
    logger,
    maxResponseBytes: deps.limits.maxResponseBytes,
  });
  const gateway = gatewayOn(undefined, undefined, compiled.planResolved);
  gateway.onSchemaLoadOrUpdate(compiled.schemaChanged);
  let apiSchema: GraphQLSchema | undefined;
  // Until a supergraph is loaded nothing is known to be public, so nothing would be shared.
  let dependsOnViewer = (_document: DocumentNode) => true;
  gateway.onSchemaLoadOrUpdate((loaded) => {
    apiSchema = loaded.apiSchema;
    dependsOnViewer = viewerDependence(loaded.coreSupergraphSdl);
  });
  const trusted = deps.trustedDocuments;
  const queryCache = trusted
    ? withTrustedDocuments(deps.persistedQueries, trusted)
    : deps.persistedQueries;
  const live: LiveSubscriptions = new LiveSubscriptions({
    apollo: () => apollo,
    events: deps.events,
    metrics: deps.events.metrics,
    logger,
    pushesPerSecond: deps.subscriptions.pushesPerSecond,
    dependsOnViewer: (document) => dependsOnViewer(document),
    maxResponseBytes: deps.limits.maxResponseBytes,
  });
  const caps = new ConnectionCaps({
    maxPerUser: deps.subscriptions.maxConnectionsPerUser,
    maxPerIp: deps.subscriptions.maxConnectionsPerIp,
  });
  const slowReaders = new SlowReaders({
    maxBufferedBytes: deps.subscriptions.maxBufferedBytes,
    metrics: deps.events.metrics,
    logger,
  });
  const multipart = new MultipartSubscriptions(live, caps, slowReaders);
  const apollo: ApolloServer<GatewayContext> = new ApolloServer<GatewayContext>({
    // `onError: NULL` is rare: its planner is built on first use, with a small plan store.
    gateway: deferred.gateway(
      errorBehaviorGateway(compiled.gateway(gateway), () => gatewayOn(relaxedSupergraph, 4)),
    ),
    logger,
    introspection: deps.introspection,
    validationRules: [deferLabels],
    csrfPrevention: { requestHeaders: CSRF_HEADERS },
    // The cache keeps its own expiry; Apollo's per-entry ttl would only repeat it.
    persistedQueries: { cache: queryCache, ttl: null },
    plugins: [
      logInternalErrors(logger),
      operationMetrics(deps.events.metrics),
      operationResolution,
      errorBehavior,
      queryLimits(deps.limits),
      wellFormedVariables(),
      introspection,
      rateLimit(deps.rateLimiter),
      ...(trusted ? [trustedDocumentsPlugin(trusted)] : []),
      subscriptionOperations({
        live,
        maxEngineSubscriptions: deps.subscriptions.maxEngineSubscriptions,
      }),
    ],
    includeStacktraceInErrorResponses: false,
    formatError: maskError,
    // Our own shutdown drains connections first; Apollo's would stop mid-request.
    stopOnTerminationSignals: false,
  });
  await apollo.start();

  const http = createGraphQLHttpService<GatewayContext>({
    apollo: withMultipartSubscriptionAccept(deferred.http(apollo)),
    answerDirectly: compiledRequests({
      compiled,
      auth: deps.auth,
      rateLimiter: deps.rateLimiter,
      limits: deps.limits,
      metrics: deps.events.metrics,
      logger,
      queryCache,
      trustedDocuments: trusted,
      csrfHeaders: CSRF_HEADERS,
    }),
    logger,
    routes: {
      ...mediaProxyRoutes({
        feedOrigin: new URL(deps.subgraphUrls.feed ?? 'http://127.0.0.1:4001').origin,
        auth: deps.auth,
        rateLimiter: deps.rateLimiter,
        logger,
      }),
      ...(deps.devTokenSecret ? devTokenRoutes(deps.devTokenSecret) : {}),
    },
    metrics: deps.events.metrics,
    maxBodyBytes: deps.maxBodyBytes,
    limits: deps.limits,
    // Ready once its schema is loaded (start-up waits for that), live events can flow and rate
    // limits are shared: without Redis each replica would grant the whole budget on its own.
    ready: async () => deps.events.pubsub.connected() && deps.rateLimitRedis.status === 'ready',
    async context(req, requestId, res) {
      const authorization = req.headers.authorization;
      // A bad token is refused here, before any subgraph is called.
      const viewer = await deps.auth.fromHeader(authorization);
      return {
        viewer,
        requestId,
        ip: req.socket.remoteAddress ?? 'unknown',
        authorization: viewer ? authorization : undefined,
        subscriptionTransport: acceptsMultipartSubscription(req)
          ? multipart.transport(res)
          : undefined,
      };
    },
  });
  allowCrossOrigin(http.server, deps.cors ?? { origins: DEV_WEB_ORIGINS, maxAgeSeconds: 600 });
  const websockets = startWebSocketTransport({
    httpServer: http.server,
    path: '/graphql',
    schema: () => apiSchema,
    apollo,
    live,
    caps,
    auth: deps.auth,
    metrics: deps.events.metrics,
    logger,
    slowReaders,
    limits: {
      maxMessageBytes: deps.maxBodyBytes,
      maxSubscriptionsPerSocket: deps.subscriptions.maxPerConnection,
      maxQueryBytes: deps.limits.maxQueryBytes,
      maxTokens: deps.limits.maxTokens,
      maxResponseBytes: deps.limits.maxResponseBytes,
    },
    ...(trusted && { admit: (payload) => admit(trusted, queryCache, payload) }),
  });
  const stop = async () => {
    http.beginShutdown();
    multipart.close();
    await websockets.close();
    await closeServer(http.server);
    await apollo.stop();
  };
  // A port already taken: what started above (the supergraph file's watcher among it) would
  // otherwise keep the process alive, failed, for good.
  const port = await listen(http.server, deps.port, deps.host).catch(async (error: unknown) => {
    await stop();
    throw error;
  });
  logger.info({ port }, 'gateway listening');
  return {
    url: `http://${deps.host}:${port}/graphql`,
    port,
    server: http.server,
    engineSubscriptions: () => live.engineSubscriptions(),
    stop,
  };
}
