import type { Db } from 'mongodb';
import { shardOfId } from '../../../platform/ids.js';

/**
 * Posts whose deletion this subgraph has consumed, on the post's logical shard. Events of other
 * topics (a like, a comment, a caption's mentions) may be consumed after the deletion of their
 * post; without this they would bring its notifications back. Kept for good: a few dozen bytes a
 * deleted post.
 */
interface DeletedPostDoc {
  _id: string;
  shard: number;
  deletedAt: Date;
}

export function deletedPostsStore(db: Db) {
  const deleted = db.collection<DeletedPostDoc>('deleted_posts');
  return {
    async ensureIndexes() {
      await deleted.createIndex({ shard: 1, _id: 1 });
    },

    /** Idempotent. */
    async remember(postId: string): Promise<void> {
      await deleted.updateOne(
        { shard: shardOfId(postId), _id: postId },
        { $setOnInsert: { deletedAt: new Date() } },
        { upsert: true },
      );
    },

    /** Which of `postIds` were deleted. */
    async among(postIds: readonly string[]): Promise<Set<string>> {
      if (postIds.length === 0) return new Set();
      const found = await deleted
        .find(
          { shard: { $in: [...new Set(postIds.map(shardOfId))] }, _id: { $in: [...postIds] } },
          { projection: { _id: 1 } },
        )
        .toArray();
      return new Set(found.map((doc) => doc._id));
    },
  };
}

export type DeletedPostsStore = ReturnType<typeof deletedPostsStore>;
