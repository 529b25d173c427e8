import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { GraphQLError } from 'graphql';
import { REQUEST_ID_HEADER } from '../platform/http.js';
import type { Metrics } from '../platform/metrics.js';
import { injectTraceHeaders } from '../platform/tracing.js';
import type { GatewayContext } from './context.js';
import { subgraphFetcher } from './subgraph-http.js';

/**
 * A fetch that got no GraphQL answer (refused, reset, timed out, or a 5xx) as an error a client
 * can act on: which subgraph, and where in the response its part was to go (`@` stands for every
 * element of a list). A 4xx is a request this gateway got wrong, left as an internal error.
 */
function unavailable(
  subgraph: string,
  error: unknown,
  options: GraphQLDataSourceProcessOptions<GatewayContext>,
): unknown {
  const status = (error as { extensions?: { response?: { status?: unknown } } }).extensions
    ?.response?.status;
  if (typeof status === 'number' && status < 500) return error;
  const timedOut = error instanceof Error && error.name === 'TimeoutError';
  const at = 'pathInIncomingRequest' in options ? options.pathInIncomingRequest : undefined;
  return new GraphQLError(
    `The ${subgraph} subgraph is unavailable${timedOut ? ' (timed out)' : ''}`,
    {
      originalError: error instanceof Error ? error : undefined,
      extensions: {
        code: 'SUBGRAPH_UNAVAILABLE',
        subgraph,
        ...(at?.length ? { responsePath: at.join('.') } : {}),
      },
    },
  );
}

/**
 * Forwards the caller's token (each subgraph checks it again), the request id and the trace
 * context, and times every fetch.
 */
export class SubgraphSource extends RemoteGraphQLDataSource<GatewayContext> {
  constructor(
    private readonly name: string,
    url: string,
    private readonly metrics: Metrics,
    timeoutMs: number,
  ) {
    super({
      url,
      fetcher: subgraphFetcher(timeoutMs) as unknown as RemoteGraphQLDataSource['fetcher'],
    });
  }

  override async process(options: GraphQLDataSourceProcessOptions<GatewayContext>) {
    const started = performance.now();
    let outcome = 'error';
    try {
      const response = await super.process(options);
      if (!response.errors?.length) outcome = 'ok';
      return response;
    } catch (error) {
      throw unavailable(this.name, error, options);
    } finally {
      this.metrics.subgraphFetch.observe(
        { subgraph: this.name, outcome },
        (performance.now() - started) / 1_000,
      );
    }
  }

  override willSendRequest(options: GraphQLDataSourceProcessOptions<GatewayContext>): void {
    const headers = options.request.http?.headers;
    const context = options.context as Partial<GatewayContext>;
    if (!headers || !context.requestId) return;
    headers.set(REQUEST_ID_HEADER, context.requestId);
    if (context.authorization) headers.set('authorization', context.authorization);
    // Our fetcher is not instrumented: the subgraph's span joins the trace through this header,
    // as a child of the gateway's `gateway.fetch` span that is active here.
    injectTraceHeaders(headers);
  }
}
