import type { Db } from 'mongodb';
import { coalescing, recount, type Recounted } from '../../../platform/counters.js';
import { shardOfId } from '../../../platform/ids.js';

export interface LikeCountDoc {
  _id: string;
  shard: number;
  likeCount?: number;
}

/** One counter document per post, on the post's logical shard. */
export function likeCountsStore(db: Db) {
  const counts = db.collection<LikeCountDoc>('like_counts');

  const coalesce = coalescing<Recounted>();

  return {
    async ensureIndexes() {
      await counts.createIndex({ shard: 1, _id: 1 });
    },

    async byPostIds(postIds: readonly string[]): Promise<Map<string, number>> {
      const docs = await counts
        .find(
          { shard: { $in: [...new Set(postIds.map(shardOfId))] }, _id: { $in: [...postIds] } },
          { projection: { likeCount: 1 }, batchSize: postIds.length + 1 },
        )
        .toArray();
      return new Map(docs.map((doc) => [doc._id, doc.likeCount ?? 0]));
    },

    async forgetPost(postId: string): Promise<void> {
      await counts.deleteOne({ shard: shardOfId(postId), _id: postId });
    },

    /** Coalesced: a storm of writes on one post shares recounts (see `coalescing`). */
    recount(postId: string, count: () => Promise<number>) {
      return coalesce(postId, () =>
        recount(counts, { shard: shardOfId(postId), _id: postId }, 'likeCount', count),
      );
    },
  };
}

export type LikeCountsStore = ReturnType<typeof likeCountsStore>;
