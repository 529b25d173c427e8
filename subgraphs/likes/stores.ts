import type { Db } from 'mongodb';
import type { Cache } from '../../platform/cache.js';
import { likeCountsStore } from './store/like-counts.js';
import { likesStore, type AnnounceLike } from './store/likes.js';

export function likesStores(db: Db, cache: Cache, announce: AnnounceLike) {
  const counts = likeCountsStore(db, cache);
  const likes = likesStore(db, { counts, announce });
  return {
    counts,
    likes,
    /** Idempotent: run at every start-up. */
    async ensureIndexes() {
      await Promise.all([counts.ensureIndexes(), likes.ensureIndexes()]);
    },
    /** Unfinished writes first: their recounts may put counts the reconciliation then checks. */
    repair: async (olderThanMs: number) =>
      (await likes.repair(olderThanMs)) + (await counts.reconcileCache()),
    /** Likes first: a count recomputed meanwhile would recreate the counter document. */
    async forgetPost(postId: string) {
      await likes.forgetPost(postId);
      await counts.forgetPost(postId);
    },
  };
}

export type LikesStores = ReturnType<typeof likesStores>;
