import DataLoader from 'dataloader';
import { pageLoader } from '../../platform/grouped-pages.js';
import { measuredBatch, type Metrics } from '../../platform/metrics.js';
import type { CallerHeaders } from '../../platform/feed-entities.js';
import type { PostDirectory } from '../../platform/post-directory.js';
import { usernamesLoader, type UsernamesOf } from '../../platform/user-directory.js';
import type { LikeDoc } from './store/likes.js';
import type { LikesStores } from './stores.js';

/** Per request: each batches every load of one tick into one database command. */
export function likesLoaders(
  stores: LikesStores,
  viewerId: string | null,
  directory: { posts: PostDirectory; usernamesOf: UsernamesOf; caller: CallerHeaders },
  metrics: Metrics,
) {
  return {
    likeCounts: new DataLoader<string, number>(
      measuredBatch(metrics, 'likeCounts', async (postIds) => {
        const counts = await stores.counts.byPostIds(postIds);
        return postIds.map((id) => counts.get(id) ?? 0);
      }),
    ),
    viewerLikes: new DataLoader<string, boolean>(
      measuredBatch(metrics, 'viewerLikes', async (postIds) => {
        if (!viewerId) return postIds.map(() => false);
        const liked = await stores.likes.likedAmong(viewerId, postIds);
        return postIds.map((id) => liked.has(id));
      }),
    ),
    likesByPost: pageLoader<LikeDoc>(metrics, 'likesByPost', (postIds, page) =>
      stores.likes.pagesByPost(postIds, page),
    ),
    posts: directory.posts.loader(directory.caller),
    /** A new like's user's name, and that of a like stored without it (older ones). */
    usernames: usernamesLoader(directory.usernamesOf, directory.caller, metrics),
  };
}

export type LikesLoaders = ReturnType<typeof likesLoaders>;
