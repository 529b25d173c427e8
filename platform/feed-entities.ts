import { REQUEST_ID_HEADER } from './http.js';
import { injectTraceHeaders } from './tracing.js';

/** Who asks, forwarded to the feed subgraph for its logs and traces (and its viewer, if any). */
export interface CallerHeaders {
  authorization: string | undefined;
  requestId: string;
}

export interface FeedEntitiesOptions {
  /** The feed subgraph's GraphQL endpoint. */
  feedUrl: string;
  timeoutMs?: number;
}

interface EntitiesResponse<T> {
  data?: { _entities: (T | null)[] };
  errors?: { message: string }[];
}

/**
 * The feed subgraph's answer for each representation, in order (null where nothing matches),
 * through its federation `_entities` field: the one way another subgraph reads what feed owns.
 * `operationName` names the lookup in the feed subgraph's logs and metrics; `selection` is the
 * inline fragment to select on each entity.
 */
export async function feedEntities<T>(
  options: FeedEntitiesOptions,
  operationName: string,
  selection: string,
  representations: readonly Record<string, string>[],
  caller: CallerHeaders,
): Promise<(T | null)[]> {
  const headers = new Headers({
    'content-type': 'application/json',
    [REQUEST_ID_HEADER]: caller.requestId,
  });
  if (caller.authorization) headers.set('authorization', caller.authorization);
  injectTraceHeaders(headers);
  const response = await fetch(options.feedUrl, {
    method: 'POST',
    headers,
    body: JSON.stringify({
      query: `query ${operationName}($representations: [_Any!]!) { _entities(representations: $representations) { ${selection} } }`,
      variables: { representations },
    }),
    signal: AbortSignal.timeout(options.timeoutMs ?? 5_000),
  });
  const body = (await response.json()) as EntitiesResponse<T>;
  if (!body.data) {
    throw new Error(
      `feed subgraph answered ${response.status}: ${body.errors?.[0]?.message ?? 'no data'}`,
    );
  }
  return body.data._entities;
}
