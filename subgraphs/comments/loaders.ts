import DataLoader from 'dataloader';
import { inIdOrder, pageLoader } from '../../platform/grouped-pages.js';
import type { PostCounter } from '../../platform/counters.js';
import { measuredBatch, type Metrics } from '../../platform/metrics.js';
import type { CallerHeaders } from '../../platform/feed-entities.js';
import type { PostDirectory } from '../../platform/post-directory.js';
import { usernamesLoader, type UsernamesOf } from '../../platform/user-directory.js';
import type { CommentView } from './store/comment-counts.js';
import type { CommentDoc } from './store/comments.js';
import type { CommentsStores } from './stores.js';

/** Per request: each batches every load of one tick into one database command. */
export function commentsLoaders(
  stores: CommentsStores,
  directory: { posts: PostDirectory; usernamesOf: UsernamesOf; caller: CallerHeaders },
  metrics: Metrics,
) {
  return {
    comments: new DataLoader<string, CommentDoc | null>(
      measuredBatch(metrics, 'comments', async (ids) =>
        inIdOrder(ids, await stores.comments.byIds(ids)),
      ),
    ),
    /** Each post's count, with its first comments where kept: one cache read serves both. */
    commentCounters: new DataLoader<string, PostCounter<CommentView>>(
      measuredBatch(metrics, 'commentCounters', async (postIds) => {
        const counters = await stores.counts.countersOf(postIds);
        return postIds.map((id) => counters.get(id) ?? { value: 0 });
      }),
    ),
    commentsByPost: pageLoader<CommentDoc>(metrics, 'commentsByPost', (postIds, page) =>
      stores.comments.pagesByPost(postIds, page),
    ),
    posts: directory.posts.loader(directory.caller),
    /** A new comment's author's name, and that of a comment stored without it (older ones). */
    usernames: usernamesLoader(directory.usernamesOf, directory.caller, metrics),
  };
}

export type CommentsLoaders = ReturnType<typeof commentsLoaders>;
