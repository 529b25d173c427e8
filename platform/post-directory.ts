import DataLoader from 'dataloader';
import { coalescing } from './counters.js';
import { feedEntities, type CallerHeaders, type FeedEntitiesOptions } from './feed-entities.js';
import { measuredBatch, type Metrics } from './metrics.js';

/**
 * What likes and comments need to know of a post they do not own: that it exists, and who wrote
 * it. The feed subgraph is the source of truth.
 */
export interface PostSummary {
  id: string;
  authorId: string;
}

/**
 * One per process. Lookups of one post share the feed subgraph's answer the way the counters'
 * writers share a recount (`coalescing`): a lookup joins the request queued behind the one in
 * flight, which starts after it arrived, so no answer predates its lookup (a post deleted before a
 * like was sent is NOT_FOUND for that like) and a storm of likes on one post costs one request per
 * request's duration instead of one per like. A summary does not depend on the viewer, so the
 * request carries the headers of whichever caller queued it first.
 */
export function postDirectory(options: FeedEntitiesOptions, metrics: Metrics) {
  // No pause between lookups, unlike recounts: one costs the feed subgraph two indexed reads, not a
  // count of every like, and a pause would add its length to every like of a storm.
  const coalesce = coalescing<PostSummary | null>();

  async function ask(id: string, caller: CallerHeaders): Promise<PostSummary | null> {
    const [post] = await feedEntities<{ id: string; author: { id: string } }>(
      options,
      'PostDirectory',
      '... on Post { id author { id } }',
      [{ __typename: 'Post', id }],
      caller,
    );
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
