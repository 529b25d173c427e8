import DataLoader from 'dataloader';
import { REQUEST_ID_HEADER } from './http.js';
import { measuredBatch, type Metrics } from './metrics.js';
import { injectTraceHeaders } from './tracing.js';

/**
 * What likes and comments need to know of a post they do not own: that it exists, and who wrote
 * it. The feed subgraph is the source of truth, asked through its federation `_entities` field, in
 * one request per batch of ids.
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

export function createPostLoader(
  options: PostDirectoryOptions,
  caller: CallerHeaders,
  metrics: Metrics,
): DataLoader<string, PostSummary | null> {
  return new DataLoader(
    measuredBatch(metrics, 'postDirectory', async (ids: readonly string[]) => {
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
          variables: { representations: ids.map((id) => ({ __typename: 'Post', id })) },
        }),
        signal: AbortSignal.timeout(options.timeoutMs ?? 5_000),
      });
      const body = (await response.json()) as EntitiesResponse;
      if (!body.data) {
        throw new Error(
          `feed subgraph answered ${response.status}: ${body.errors?.[0]?.message ?? 'no data'}`,
        );
      }
      return body.data._entities.map((post) =>
        post ? { id: post.id, authorId: post.author.id } : null,
      );
    }),
  );
}
