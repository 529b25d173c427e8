import DataLoader from 'dataloader';
import { pageLoader } from '../../platform/grouped-pages.js';
import { createPostLoader, type CallerHeaders } from '../../platform/post-directory.js';
import type { LikesStores } from './stores.js';

export function likesLoaders(
  stores: LikesStores,
  viewerId: string | null,
  directory: { feedUrl: string; caller: CallerHeaders },
) {
  return {
    likeCounts: new DataLoader<string, number>(async (postIds) => {
      const counts = await stores.counts.byPostIds(postIds);
      return postIds.map((id) => counts.get(id) ?? 0);
    }),
    viewerLikes: new DataLoader<string, boolean>(async (postIds) => {
      if (!viewerId) return postIds.map(() => false);
      const liked = await stores.likes.likedAmong(viewerId, postIds);
      return postIds.map((id) => liked.has(id));
    }),
    likesByPost: pageLoader((postIds, page) => stores.likes.pagesByPost(postIds, page)),
    posts: createPostLoader({ feedUrl: directory.feedUrl }, directory.caller),
  };
}

export type LikesLoaders = ReturnType<typeof likesLoaders>;
