import type { GraphQLDataSource, GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { GatewayGraphQLResponse } from '@apollo/server-gateway-interface';
import { GraphQLError } from 'graphql';
import { REQUEST_ID_HEADER } from '../platform/http.js';
import type { Metrics } from '../platform/metrics.js';
import { injectTraceHeaders } from '../platform/tracing.js';
import type { GatewayContext } from './context.js';
import { subgraphFetcher, type SubgraphResponse } from './subgraph-http.js';

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

/** A subgraph's non-2xx answer, as `RemoteGraphQLDataSource` reports one. */
async function errorFromResponse(response: SubgraphResponse): Promise<GraphQLError> {
  const body = await bodyOf(response);
  const code =
    response.status === 401 ? 'UNAUTHENTICATED' : response.status === 403 ? 'FORBIDDEN' : undefined;
  return new GraphQLError(`${response.status}: ${response.statusText}`, {
    extensions: {
      response: {
        url: response.url,
        status: response.status,
        statusText: response.statusText,
        body,
      },
      ...(code ? { code } : {}),
    },
  });
}

function bodyOf(response: SubgraphResponse): Promise<unknown> {
  const type = response.headers.get('content-type');
  return type?.startsWith('application/json') ||
    type?.startsWith('application/graphql-response+json')
    ? response.json()
    : response.text();
}

/**
 * One subgraph: its requests carry the caller's token (each subgraph checks it again), the request
 * id and the trace context, and every fetch is timed. The same request and answer handling as
 * `RemoteGraphQLDataSource` (body `{query, variables, operationName, extensions}`, non-2xx as an
 * error with the response attached, 401 and 403 with their codes), without its per-fetch
 * `node-fetch` `Headers` and `Request` objects or the cache-control hints nobody here reads.
 */
export class SubgraphSource implements GraphQLDataSource<GatewayContext> {
  private readonly fetchSubgraph: ReturnType<typeof subgraphFetcher>;

  constructor(
    private readonly name: string,
    private readonly url: string,
    private readonly metrics: Metrics,
    timeoutMs: number,
  ) {
    this.fetchSubgraph = subgraphFetcher(timeoutMs);
  }

  async process(
    options: GraphQLDataSourceProcessOptions<GatewayContext>,
  ): Promise<GatewayGraphQLResponse> {
    const started = performance.now();
    let outcome = 'error';
    try {
      const response = await this.send(options);
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

  private async send(
    options: GraphQLDataSourceProcessOptions<GatewayContext>,
  ): Promise<GatewayGraphQLResponse> {
    const { query, variables, operationName, extensions } = options.request;
    if (!query) throw new Error('Missing query');
    const headers: Record<string, string> = {};
    for (const [name, value] of options.request.http?.headers ?? []) headers[name] = value;
    headers['content-type'] = 'application/json';
    const context = options.context as Partial<GatewayContext>;
    if (context.requestId) {
      headers[REQUEST_ID_HEADER] = context.requestId;
      if (context.authorization) headers.authorization = context.authorization;
      // Our fetcher is not instrumented: the subgraph's span joins the trace through this header,
      // as a child of the gateway's `gateway.fetch` span that is active here.
      injectTraceHeaders({ set: (name, value) => (headers[name] = value) });
    }
    const response = await this.fetchSubgraph(this.url, {
      method: 'POST',
      headers,
      body: JSON.stringify({ query, variables, operationName, extensions }),
    });
    if (!response.ok) throw await errorFromResponse(response);
    const body = await bodyOf(response);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new Error(`Expected JSON response body, but received: ${String(body)}`);
    }
    return body as GatewayGraphQLResponse;
  }
}
