import DataLoader from 'dataloader';
import { coalescing } from './counters.js';
import { REQUEST_ID_HEADER } from './http.js';
import { measuredBatch, type Metrics } from './metrics.js';
import { injectTraceHeaders } from './tracing.js';

/**
 * What likes and comments need to know of a post they do not own: that it exists, and who wrote
 * it. The feed subgraph is the source of truth, asked through its federation `_entities` field.
 */
export interface PostSummary {
  id: string;
  authorId: string;
}

const QUERY = `query PostDirectory($representations: [_Any!]!) {
  _entities(representations: $representations) { ... on Post { id author { id } } }
}`;

interface EntitiesResponse {
  data?: { _entities: ({ id: string; author: { id: string } } | null)[] };
  errors?: { message: string }[];
}

export interface PostDirectoryOptions {
  feedUrl: string;
  timeoutMs?: number;
}

export interface CallerHeaders {
  authorization: string | undefined;
  requestId: string;
}

/**
 * One per process. Lookups of one post share the feed subgraph's answer the way the counters'
 * writers share a recount (`coalescing`): a lookup joins the request queued behind the one in
 * flight, which starts after it arrived, so no answer predates its lookup (a post deleted before a
 * like was sent is NOT_FOUND for that like) and a storm of likes on one post costs one request per
 * request's duration instead of one per like. A summary does not depend on the viewer, so the
 * request carries the headers of whichever caller queued it first.
 */
export function postDirectory(options: PostDirectoryOptions, metrics: Metrics) {
  // No pause between lookups, unlike recounts: one costs the feed subgraph two indexed reads, not a
  // count of every like, and a pause would add its length to every like of a storm.
  const coalesce = coalescing<PostSummary | null>();

  async function ask(id: string, caller: CallerHeaders): Promise<PostSummary | null> {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      [REQUEST_ID_HEADER]: caller.requestId,
    };
    if (caller.authorization) headers.authorization = caller.authorization;
    const outgoing = new Headers(headers);
    injectTraceHeaders(outgoing);
    const response = await fetch(options.feedUrl, {
      method: 'POST',
      headers: outgoing,
      body: JSON.stringify({
        query: QUERY,
        variables: { representations: [{ __typename: 'Post', id }] },
      }),
      signal: AbortSignal.timeout(options.timeoutMs ?? 5_000),
    });
    const body = (await response.json()) as EntitiesResponse;
    if (!body.data) {
      throw new Error(
        `feed subgraph answered ${response.status}: ${body.errors?.[0]?.message ?? 'no data'}`,
      );
    }
    const post = body.data._entities[0];
    return post ? { id: post.id, authorId: post.author.id } : null;
  }

  return {
    /** Per request, so that its loads of one post within the request are one lookup. */
    loader(caller: CallerHeaders): DataLoader<string, PostSummary | null> {
      return new DataLoader(
        measuredBatch(metrics, 'postDirectory', (ids: readonly string[]) =>
          Promise.all(ids.map((id) => coalesce(id, () => ask(id, caller)))),
        ),
      );
    },
  };
}

export type PostDirectory = ReturnType<typeof postDirectory>;
