import type { Db } from 'mongodb';
import { shardOfUser } from '../../../platform/ids.js';
import { isDuplicateKey } from '../../../platform/mongo.js';

/**
 * The follow graph indexed by the followed user, derived from `follows`: counting or listing a
 * user's followers stays on that user's shard. Each edge carries the version of the `follows`
 * edge it mirrors, and an older version never overwrites a newer one, so replays and races settle
 * on the latest state.
 */
export interface FollowerDoc {
  shard: number;
  followeeId: string;
  followerId: string;
  active: boolean;
  version: number;
  updatedAt: Date;
}

export function followersStore(db: Db) {
  const followers = db.collection<FollowerDoc>('followers');
  const shardOf = (followeeId: string) => shardOfUser(followeeId);

  return {
    async ensureIndexes() {
      await followers.createIndex({ shard: 1, followeeId: 1, followerId: 1 }, { unique: true });
      // A user's active followers: the count and the fan-out's list read the keys alone, not
      // every edge, unfollowed ones included.
      await followers.createIndex({ shard: 1, followeeId: 1, active: 1, followerId: 1 });
    },

    async mirror(edge: {
      followerId: string;
      followeeId: string;
      active: boolean;
      version: number;
    }) {
      try {
        await followers.updateOne(
          {
            shard: shardOf(edge.followeeId),
            followeeId: edge.followeeId,
            followerId: edge.followerId,
            version: { $lt: edge.version },
          },
          { $set: { active: edge.active, version: edge.version, updatedAt: new Date() } },
          { upsert: true },
        );
      } catch (error) {
        // The edge exists with a newer version: the newer state wins.
        if (!isDuplicateKey(error)) throw error;
      }
    },

    /** Every follower of `followeeId`, `batchSize` at a time: one cursor on the followee's shard. */
    async *followerIds(followeeId: string, batchSize: number): AsyncGenerator<string[]> {
      const cursor = followers.find(
        { shard: shardOf(followeeId), followeeId, active: true },
        { projection: { followerId: 1 }, batchSize },
      );
      let batch: string[] = [];
      for await (const edge of cursor) {
        batch.push(edge.followerId);
        if (batch.length === batchSize) {
          yield batch;
          batch = [];
        }
      }
      if (batch.length > 0) yield batch;
    },

    countFollowers(followeeId: string): Promise<number> {
      return followers.countDocuments({ shard: shardOf(followeeId), followeeId, active: true });
    },
  };
}

export type FollowersStore = ReturnType<typeof followersStore>;
