import type { ApolloServerPlugin } from '@apollo/server';
import { trace } from '@opentelemetry/api';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

const SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * One registry per service instance (tests run several services in one process), labelled with
 * the service name, served at `/metrics` in Prometheus text format.
 */
export function createMetrics(service: string) {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    http: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP requests by route, method and status',
      labelNames: ['route', 'method', 'status'],
      buckets: SECONDS,
      registers,
    }),
    graphql: new Histogram({
      name: 'graphql_operation_duration_seconds',
      help: 'GraphQL operations by name, type, outcome (ok, error) and pipeline: apollo-server, or direct (an operation run before, answered over HTTP without Apollo Server)',
      labelNames: ['operation', 'type', 'outcome', 'pipeline'],
      buckets: SECONDS,
      registers,
    }),
    subgraphFetch: new Histogram({
      name: 'subgraph_fetch_duration_seconds',
      help: 'Fetches from the gateway to each subgraph, by outcome',
      labelNames: ['subgraph', 'outcome'],
      buckets: SECONDS,
      registers,
    }),
    planExecutions: new Counter({
      name: 'gateway_plan_executions_total',
      help: 'Operations the gateway executed, by path: compiled (a plan it ran before), apollo (a first run, or a plan only @apollo/gateway covers); and by pipeline: apollo-server, or direct (a compiled query or mutation over HTTP answered without Apollo Server)',
      labelNames: ['path', 'pipeline'],
      registers,
    }),
    loaderBatch: new Histogram({
      name: 'dataloader_batch_size',
      help: 'Keys per DataLoader batch, by loader: one database round trip each',
      labelNames: ['loader'],
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500],
      registers,
    }),
    writesRefused: new Counter({
      name: 'writes_refused_total',
      help: 'Writes refused with OVERLOADED before they started, past WRITES_MAX_IN_FLIGHT',
      registers,
    }),
    cache: new Counter({
      name: 'cache_requests_total',
      help: 'Redis cache lookups by cache and outcome (hit, miss, skipped while Redis is away, error)',
      labelNames: ['cache', 'outcome'],
      registers,
    }),
    mongoCommands: new Counter({
      name: 'mongo_commands_total',
      help: 'Commands this process sent to MongoDB, by command name',
      labelNames: ['command'],
      registers,
    }),
    events: new Counter({
      name: 'events_total',
      help: 'Domain events by topic, direction (published, consumed) and outcome (ok, failed)',
      labelNames: ['topic', 'direction', 'outcome'],
      registers,
    }),
    websockets: new Gauge({
      name: 'websocket_connections',
      help: 'Open WebSocket connections',
      registers,
    }),
    subscriptions: new Gauge({
      name: 'graphql_subscriptions_active',
      help: 'Active GraphQL subscriptions',
      registers,
    }),
    slowReaders: new Counter({
      name: 'stream_slow_readers_total',
      help: 'Streaming connections cut off because their client stopped reading, by transport (websocket, multipart)',
      labelNames: ['transport'],
      registers,
    }),
    engineSubscriptions: new Gauge({
      name: 'pubsub_engine_subscriptions',
      help: 'Engine subscriptions open in this process: one per topic and watched post',
      registers,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** Times every GraphQL operation by name, type and outcome. */
export function operationMetrics(metrics: Metrics): ApolloServerPlugin {
  return {
    async requestDidStart() {
      const started = performance.now();
      return {
        async willSendResponse({ operationName, operation, response }) {
          const errors =
            response.body.kind === 'single' ? response.body.singleResult.errors : undefined;
          recordOperation(metrics, started, {
            operation: operationName ?? 'anonymous',
            type: operation?.operation ?? 'unknown',
            outcome: errors?.length ? 'error' : 'ok',
            pipeline: 'apollo-server',
          });
        },
      };
    },
  };
}

/**
 * One operation answered, `started` on `performance.now()`'s clock: its duration, and on the
 * request's server span (a no-op with tracing off) which operation it served.
 */
export function recordOperation(
  metrics: Metrics,
  started: number,
  labels: {
    operation: string;
    type: string;
    outcome: 'ok' | 'error';
    pipeline: 'apollo-server' | 'direct';
  },
): void {
  metrics.graphql.observe(labels, (performance.now() - started) / 1_000);
  trace.getActiveSpan()?.setAttributes({
    'graphql.operation.name': labels.operation,
    'graphql.operation.type': labels.type,
  });
}

/** A DataLoader batch function that records its batch sizes. */
export function measuredBatch<K, V>(
  metrics: Metrics,
  loader: string,
  batch: (keys: readonly K[]) => Promise<(V | Error)[]>,
): (keys: readonly K[]) => Promise<(V | Error)[]> {
  return (keys) => {
    metrics.loaderBatch.observe({ loader }, keys.length);
    return batch(keys);
  };
}
