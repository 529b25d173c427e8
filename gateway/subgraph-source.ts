import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { REQUEST_ID_HEADER } from '../platform/http.js';
import type { Metrics } from '../platform/metrics.js';
import type { GatewayContext } from './context.js';
import { subgraphFetcher } from './subgraph-http.js';

/**
 * Forwards the caller's token (each subgraph checks it again) and the request id, and times
 * every fetch.
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
  }
}
