import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { REQUEST_ID_HEADER } from '../platform/http.js';
import type { GatewayContext } from './context.js';

/**
 * Node's own fetch (undici) keeps connections to each subgraph alive and pooled, where the
 * gateway's default fetcher would pay for its HTTP cache layer on every call.
 */
const keepAliveFetch = fetch as unknown as RemoteGraphQLDataSource['fetcher'];

/** Forwards the caller's token (each subgraph checks it again) and the request id. */
export class SubgraphSource extends RemoteGraphQLDataSource<GatewayContext> {
  constructor(url: string) {
    super({ url, fetcher: keepAliveFetch });
  }

  override willSendRequest(options: GraphQLDataSourceProcessOptions<GatewayContext>): void {
    const headers = options.request.http?.headers;
    const context = options.context as Partial<GatewayContext>;
    if (!headers || !context.requestId) return;
    headers.set(REQUEST_ID_HEADER, context.requestId);
    if (context.authorization) headers.set('authorization', context.authorization);
  }
}
