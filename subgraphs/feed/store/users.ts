import type { Db } from 'mongodb';
import { coalescing, recount, type Recounted } from '../../../platform/counters.js';
import { shardOfUser } from '../../../platform/ids.js';
import { BACKGROUND_SCAN } from '../../../platform/mongo.js';

export interface UserDoc {
  _id: string;
  shard: number;
  username?: string;
  createdAt?: Date;
  followerCount?: number;
  followingCount?: number;
}

/** Users are identities from the token; a profile document appears on their first write. */
export function usersStore(db: Db) {
  const users = db.collection<UserDoc>('users');
  const keyOf = (id: string) => ({ shard: shardOfUser(id), _id: id });
  // A celebrity gaining followers by the thousand is the same storm as a viral post's likes.
  const coalesceFollowers = coalescing<Recounted>();
  const coalesceFollowing = coalescing<Recounted>();

  return {
    async ensureIndexes() {
      await users.createIndex({ shard: 1, _id: 1 });
      await users.createIndex({ followerCount: 1 });
    },

    /** Users with more than `followers` followers: a scan of every shard, for a periodic refresh. */
    async withFollowersAbove(followers: number): Promise<string[]> {
      const docs = await users
        .find(
          { followerCount: { $gt: followers } },
          { projection: { _id: 1 }, comment: BACKGROUND_SCAN, limit: 100_000 },
        )
        .toArray();
      return docs.map((doc) => doc._id);
    },

    async byIds(ids: readonly string[]): Promise<UserDoc[]> {
      const shards = [...new Set(ids.map(shardOfUser))];
      return users
        .find({ shard: { $in: shards }, _id: { $in: [...ids] } }, { batchSize: ids.length + 1 })
        .toArray();
    },

    async exists(id: string): Promise<boolean> {
      return (await users.countDocuments(keyOf(id), { limit: 1 })) > 0;
    },

    async ensure(id: string, username?: string): Promise<void> {
      await users.updateOne(
        keyOf(id),
        { $setOnInsert: { createdAt: new Date(), ...(username ? { username } : {}) } },
        { upsert: true },
      );
    },

    recountFollowers(id: string, count: () => Promise<number>) {
      return coalesceFollowers(id, () => recount(users, keyOf(id), 'followerCount', count));
    },

    recountFollowing(id: string, count: () => Promise<number>) {
      return coalesceFollowing(id, () => recount(users, keyOf(id), 'followingCount', count));
    },
  };
}

export type UsersStore = ReturnType<typeof usersStore>;
