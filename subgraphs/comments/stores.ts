import type { Db } from 'mongodb';
import type { Cache } from '../../platform/cache.js';
import { commentCountsStore } from './store/comment-counts.js';
import { commentsStore, type AnnounceComment } from './store/comments.js';

export function commentsStores(db: Db, cache: Cache, announce: AnnounceComment) {
  const counts = commentCountsStore(db, cache);
  const comments = commentsStore(db, { counts, announce });
  return {
    counts,
    comments,
    /** Idempotent: run at every start-up. */
    async ensureIndexes() {
      await Promise.all([counts.ensureIndexes(), comments.ensureIndexes()]);
    },
    /** Unfinished writes first: their recounts may put counts the reconciliation then checks. */
    repair: async (olderThanMs: number) =>
      (await comments.repair(olderThanMs)) + (await counts.reconcileCache()),
    /** Comments first: a count recomputed meanwhile would recreate the counter document. */
    async forgetPost(postId: string) {
      await comments.forgetPost(postId);
      await counts.forgetPost(postId);
    },
  };
}

export type CommentsStores = ReturnType<typeof commentsStores>;
