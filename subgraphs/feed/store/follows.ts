import type { Db } from 'mongodb';
import { repairUnsynced, type Recounted } from '../../../platform/counters.js';
import { shardOfUser } from '../../../platform/ids.js';
import { isDuplicateKey } from '../../../platform/mongo.js';
import type { FollowersStore } from './followers.js';
import type { UsersStore } from './users.js';

/**
 * The follow graph indexed by the follower: the source of truth. A change flips `active`, bumps
 * `version` and leaves `synced: false` until the mirror in `followers` and both users' counts are
 * updated; a crash in between leaves the edge unsynced, and `repair` finishes the job. Every step
 * is idempotent, so no transaction is needed.
 */
export interface FollowDoc {
  shard: number;
  followerId: string;
  followeeId: string;
  active: boolean;
  version: number;
  synced: boolean;
  createdAt: Date;
  updatedAt: Date;
}

/** Puts a synced change on the durable topic; false when it could not (the repair pass retries). */
export type AnnounceFollow = (edge: FollowDoc, followerCount: Recounted) => Promise<boolean>;

export function followsStore(
  db: Db,
  deps: { followers: FollowersStore; users: UsersStore; announce: AnnounceFollow },
) {
  const follows = db.collection<FollowDoc>('follows');
  const keyOf = (followerId: string, followeeId: string) => ({
    shard: shardOfUser(followerId),
    followerId,
    followeeId,
  });

  async function sync(edge: FollowDoc) {
    await deps.followers.mirror(edge);
    const [, followerCount] = await Promise.all([
      deps.users.recountFollowing(edge.followerId, () =>
        follows.countDocuments({
          shard: shardOfUser(edge.followerId),
          followerId: edge.followerId,
          active: true,
        }),
      ),
      deps.users.recountFollowers(edge.followeeId, () =>
        deps.followers.countFollowers(edge.followeeId),
      ),
    ]);
    await deps.users.refresh([edge.followerId, edge.followeeId]);
    if (!(await deps.announce(edge, followerCount))) return;
    await follows.updateOne(
      { ...keyOf(edge.followerId, edge.followeeId), version: edge.version },
      { $set: { synced: true } },
    );
  }

  /**
   * A request that changed nothing may still race the one that did: finishing that one's sync
   * (idempotent) before answering means every answer includes the state it found.
   */
  async function settle(followerId: string, followeeId: string): Promise<void> {
    const pending = await follows.findOne({ ...keyOf(followerId, followeeId), synced: false });
    if (pending) await sync(pending);
  }

  return {
    async ensureIndexes() {
      await follows.createIndex({ shard: 1, followerId: 1, followeeId: 1 }, { unique: true });
      // Whom a user follows: the count and the feed's list read the keys alone, not every edge,
      // unfollowed ones included.
      await follows.createIndex({ shard: 1, followerId: 1, active: 1, followeeId: 1 });
      await follows.createIndex({ synced: 1, updatedAt: 1 });
    },

    /** Idempotent: following someone already followed changes nothing. */
    async follow(followerId: string, followeeId: string): Promise<void> {
      const now = new Date();
      let edge: FollowDoc | null;
      try {
        edge = await follows.findOneAndUpdate(
          { ...keyOf(followerId, followeeId), active: { $ne: true } },
          {
            $set: { active: true, synced: false, updatedAt: now },
            $inc: { version: 1 },
            $setOnInsert: { createdAt: now },
          },
          { upsert: true, returnDocument: 'after' },
        );
      } catch (error) {
        if (!isDuplicateKey(error)) throw error;
        edge = null; // already following
      }
      await (edge ? sync(edge) : settle(followerId, followeeId));
    },

    /** Idempotent: unfollowing someone not followed changes nothing. */
    async unfollow(followerId: string, followeeId: string): Promise<void> {
      const edge = await follows.findOneAndUpdate(
        { ...keyOf(followerId, followeeId), active: true },
        { $set: { active: false, synced: false, updatedAt: new Date() }, $inc: { version: 1 } },
        { returnDocument: 'after' },
      );
      await (edge ? sync(edge) : settle(followerId, followeeId));
    },

    /** Whom `followerId` follows: all of them, or the first `limit`. */
    async followeeIds(followerId: string, limit?: number): Promise<string[]> {
      const edges = await follows
        .find(
          { shard: shardOfUser(followerId), followerId, active: true },
          { projection: { followeeId: 1 }, batchSize: limit ?? 10_000, ...(limit && { limit }) },
        )
        .toArray();
      return edges.map((edge) => edge.followeeId);
    },

    /** Which of `followeeIds` `followerId` follows. */
    async followedAmong(followerId: string, followeeIds: readonly string[]): Promise<Set<string>> {
      const edges = await follows
        .find(
          {
            shard: shardOfUser(followerId),
            followerId,
            followeeId: { $in: [...followeeIds] },
            active: true,
          },
          { projection: { followeeId: 1 }, batchSize: followeeIds.length + 1 },
        )
        .toArray();
      return new Set(edges.map((edge) => edge.followeeId));
    },

    /** Finishes edges left unsynced for longer than `olderThanMs` (a crashed or failed request). */
    repair(olderThanMs: number): Promise<number> {
      return repairUnsynced(follows, olderThanMs, sync);
    },
  };
}

export type FollowsStore = ReturnType<typeof followsStore>;
