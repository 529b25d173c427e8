import type { IncomingMessage } from 'node:http';
import {
  context,
  isSpanContextValid,
  propagation,
  SpanKind,
  trace,
  type Context,
  type Span,
} from '@opentelemetry/api';
import { optionalStr, readEnv } from './env.js';
import type { Logger } from './logger.js';

/**
 * Our spans. Until `startTracing` registers an SDK the OpenTelemetry API is a no-op: spans are
 * non-recording, nothing is propagated and nothing is exported.
 */
const tracer = trace.getTracer('instagram-supergraph');

export interface Tracing {
  /** Exports the spans still buffered; call before the process exits. */
  shutdown(): Promise<void>;
}

/** The OTLP settings we decide on; the SDK reads the rest of the standard OTEL_* variables. */
export function readTracingEnv(source: Record<string, string | undefined> = process.env) {
  const env = readEnv(
    {
      OTEL_EXPORTER_OTLP_ENDPOINT: optionalStr(),
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: optionalStr(),
      OTEL_SERVICE_NAME: optionalStr(),
    },
    source,
  );
  return {
    endpoint: env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT,
    serviceName: env.OTEL_SERVICE_NAME,
  };
}

/**
 * Tracing for this process, exported over OTLP/HTTP (JSON) when an OTLP endpoint is configured.
 * Without one the SDK is not even loaded: tracing then costs one no-op call per request. The
 * registered provider also records `@apollo/gateway`'s own spans (request, plan, fetch per
 * subgraph, post-processing), which it creates through the same global API.
 */
export async function startTracing(service: string, logger: Logger): Promise<Tracing> {
  const settings = readTracingEnv();
  if (!settings.endpoint) return { shutdown: async () => undefined };
  const [sdk, otlp, resources] = await Promise.all([
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
  ]);
  // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, read by the env detector, win over our name.
  const resource = resources
    .defaultResource()
    .merge(resources.resourceFromAttributes({ 'service.name': service }))
    .merge(resources.detectResources({ detectors: [resources.envDetector] }));
  const provider = new sdk.NodeTracerProvider({
    resource,
    // The exporter reads OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT and _HEADERS itself; the batch
    // processor OTEL_BSP_*; the sampler OTEL_TRACES_SAMPLER(_ARG).
    spanProcessors: [new sdk.BatchSpanProcessor(new otlp.OTLPTraceExporter())],
  });
  // AsyncLocalStorage context and the W3C traceparent propagator.
  provider.register();
  logger.info({ endpoint: settings.endpoint }, 'tracing on: spans exported over OTLP');
  return { shutdown: () => provider.shutdown() };
}

/**
 * A server span for an incoming request, child of the caller's `traceparent` when it sent one,
 * and the context to run the request in.
 */
export function startServerSpan(
  req: IncomingMessage,
  route: string,
): { span: Span; context: Context } {
  const parent = propagation.extract(context.active(), req.headers);
  const method = req.method ?? 'GET';
  const span = tracer.startSpan(
    `${method} ${route}`,
    { kind: SpanKind.SERVER, attributes: { 'http.request.method': method, 'http.route': route } },
    parent,
  );
  return { span, context: trace.setSpan(parent, span) };
}

/** Adds `traceparent` for the current span to outgoing headers (a no-op with tracing off). */
export function injectTraceHeaders(headers: { set(name: string, value: string): void }): void {
  propagation.inject(context.active(), headers, {
    set: (carrier, key, value) => carrier.set(key, value),
  });
}

/** The trace and span ids of `span` (or the active one) for a log line; none with tracing off. */
export function traceFields(span: Span | undefined = trace.getActiveSpan()) {
  const spanContext = span?.spanContext();
  if (!spanContext || !isSpanContextValid(spanContext)) return {};
  return { trace_id: spanContext.traceId, span_id: spanContext.spanId };
}
