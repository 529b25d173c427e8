import { REQUEST_ID_HEADER } from './http.js';
import { poolFor } from './http-pools.js';
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
 *
 * Sent with undici's pool, as the gateway sends its subgraph fetches, not with the global
 * `fetch`: a like storm asks the feed subgraph about its post back to back and about each new
 * liker's name, and `fetch` builds WHATWG streams, a Request, a Response and a timer per call.
 * No answer headers within `timeoutMs`, or a stall that long in the body, fails the lookup.
 */
export async function feedEntities<T>(
  options: FeedEntitiesOptions,
  operationName: string,
  selection: string,
  representations: readonly Record<string, string>[],
  caller: CallerHeaders,
): Promise<(T | null)[]> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    [REQUEST_ID_HEADER]: caller.requestId,
  };
  if (caller.authorization) headers.authorization = caller.authorization;
  injectTraceHeaders({ set: (name, value) => (headers[name] = value) });
  const { pool, path } = poolFor(options.feedUrl, options.timeoutMs ?? 5_000);
  const response = await pool.request({
    path,
    method: 'POST',
    headers,
    body: JSON.stringify({
      query: `query ${operationName}($representations: [_Any!]!) { _entities(representations: $representations) { ${selection} } }`,
      variables: { representations },
    }),
  });
  const body = (await response.body.json()) as EntitiesResponse<T>;
  if (!body.data) {
    throw new Error(
      `feed subgraph answered ${response.statusCode}: ${body.errors?.[0]?.message ?? 'no data'}`,
    );
  }
  return body.data._entities;
}
