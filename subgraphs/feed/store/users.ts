import type { Db } from 'mongodb';
import type { Cache } from '../../../platform/cache.js';
import { coalescing, recount, STORM_GAP_MS, type Recounted } from '../../../platform/counters.js';
import { shardOfUser } from '../../../platform/ids.js';
import { BACKGROUND_SCAN } from '../../../platform/mongo.js';
import { usernamesStore } from './usernames.js';

export interface UserDoc {
  _id: string;
  shard: number;
  username?: string;
  createdAt?: Date;
  followerCount?: number;
  followingCount?: number;
  /** The recount tickets behind the two counts (platform/counters.ts). */
  followerCountApplied?: number;
  followingCountApplied?: number;
}

/**
 * Users are identities from the token; a profile document appears on their first write. Profiles
 * are read through the cache, versioned by their counts' recount tickets, which only grow.
 */
export function usersStore(db: Db, cache: Cache) {
  const users = db.collection<UserDoc>('users');
  const names = usernamesStore(db);
  const keyOf = (id: string) => ({ shard: shardOfUser(id), _id: id });
  const cached = cache.of<UserDoc>('user', {
    version: (user) => (user.followerCountApplied ?? 0) + (user.followingCountApplied ?? 0),
    encode: (user) => user,
    decode: (value) => {
      const user = value as UserDoc & { createdAt?: string };
      return { ...user, createdAt: user.createdAt ? new Date(user.createdAt) : undefined };
    },
  });
  const fromDatabase = async (ids: readonly string[]) => {
    const found = await users
      .find(
        { shard: { $in: [...new Set(ids.map(shardOfUser))] }, _id: { $in: [...ids] } },
        { batchSize: ids.length + 1 },
      )
      .toArray();
    return found.map((user) => ({ id: user._id, doc: user }));
  };
  // A celebrity gaining followers by the thousand is the same storm as a viral post's likes.
  const coalesceFollowers = coalescing<Recounted>(STORM_GAP_MS);
  const coalesceFollowing = coalescing<Recounted>(STORM_GAP_MS);

  return {
    async ensureIndexes() {
      await users.createIndex({ shard: 1, _id: 1 });
      await users.createIndex({ followerCount: 1 });
      await names.ensureIndexes();
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
      return [...(await cached.through(ids, fromDatabase)).values()];
    },

    /** Drops cached profiles the database is behind (after a rollback or a restore). */
    reconcileCache(): Promise<number> {
      return cached.reconcile(fromDatabase);
    },

    /** After their counts changed: the cache gets the users as they now are. */
    async refresh(ids: readonly string[]): Promise<void> {
      await cached.put(await fromDatabase(ids));
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
      if (username) await names.claim(username, id);
    },

    /** Ids of the users holding these usernames (any case), by lower-cased name. */
    idsByUsernames: (usernames: readonly string[]) => names.ids(usernames),

    recountFollowers(id: string, count: () => Promise<number>) {
      return coalesceFollowers(id, () => recount(users, keyOf(id), 'followerCount', count));
    },

    recountFollowing(id: string, count: () => Promise<number>) {
      return coalesceFollowing(id, () => recount(users, keyOf(id), 'followingCount', count));
    },
  };
}

export type UsersStore = ReturnType<typeof usersStore>;
