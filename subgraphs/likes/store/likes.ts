import type { Db, Filter } from 'mongodb';
import type { Page } from '../../../platform/connection.js';
import { repairUnsynced, type Recounted } from '../../../platform/counters.js';
import { groupCommit } from '../../../platform/group-commit.js';
import { pagesByParent } from '../../../platform/grouped-pages.js';
import { newId, shardOfId } from '../../../platform/ids.js';
import { dropSupersededIndex, isDuplicateKey, staleReads } from '../../../platform/mongo.js';
import type { LikeCountsStore } from './like-counts.js';

/**
 * One document per (post, user), unique, on the post's logical shard: liking twice finds the
 * document already active and changes nothing. `_id` is a time-ordered id, so "newest first" is
 * an index walk. A change bumps `version` and leaves `synced: false` until the post's count has
 * been recounted; the repair pass finishes what a crash left unsynced.
 */
export interface LikeDoc {
  _id: string;
  shard: number;
  postId: string;
  userId: string;
  /** Absent on likes written before names were kept, or by a user who had none then. */
  username?: string;
  /** Whom the like notifies; copied from the post when liked. */
  postAuthorId?: string;
  active: boolean;
  version: number;
  synced: boolean;
  likedAt: Date;
  updatedAt: Date;
}

/** Puts a counted change on the durable topic; false when it could not (the repair pass retries). */
export type AnnounceLike = (like: LikeDoc, count: Recounted) => Promise<boolean>;

export function likesStore(db: Db, deps: { counts: LikeCountsStore; announce: AnnounceLike }) {
  const likes = db.collection<LikeDoc>('likes');
  /** Pages for readers: nobody needs their own write in them within `maxStalenessSeconds`. */
  const staleLikes = staleReads(db).collection<LikeDoc>('likes');
  const keyOf = (postId: string, userId: string) => ({ shard: shardOfId(postId), postId, userId });
  /** A storm's marks share commands: one per write in flight, not one per like. */
  const markSynced = groupCommit<Filter<LikeDoc>>(async (keys) => {
    await likes.bulkWrite(
      keys.map((filter) => ({ updateOne: { filter, update: { $set: { synced: true } } } })),
      { ordered: false },
    );
  });

  /** Counted, then announced, then marked synced (or, for an unlike, gone): each step idempotent. */
  async function sync(like: LikeDoc): Promise<Recounted> {
    const count = await deps.counts.recount(like.postId, () =>
      likes.countDocuments({ shard: shardOfId(like.postId), postId: like.postId, active: true }),
    );
    if (!(await deps.announce(like, count))) return count;
    const key = { ...keyOf(like.postId, like.userId), version: like.version };
    // An unlike leaves nothing worth keeping once it is counted.
    if (like.active) await markSynced(key);
    else await likes.deleteOne({ ...key, active: false });
    return count;
  }

  /**
   * A request that changed nothing may still race the one that did: finishing that one's sync
   * (idempotent) before answering means every answer includes the state it found.
   */
  async function settle(postId: string, userId: string): Promise<void> {
    const pending = await likes.findOne({ ...keyOf(postId, userId), synced: false });
    if (pending) await sync(pending);
  }

  return {
    async ensureIndexes() {
      await likes.createIndex({ shard: 1, postId: 1, userId: 1 }, { unique: true });
      // A post's live likes, newest first: its pages walk it, and its recount's count
      // ({shard, postId, active}) is answered from the keys alone, without reading each like.
      await likes.createIndex({ shard: 1, postId: 1, active: 1, _id: -1 });
      await dropSupersededIndex(likes, 'shard_1_postId_1__id_-1');
      await likes.createIndex({ synced: 1, updatedAt: 1 });
    },

    /** Idempotent: liking a post already liked changes nothing (and returns null). */
    async like(
      postId: string,
      user: { id: string; username: string | null },
      postAuthorId: string,
    ): Promise<Recounted | null> {
      const userId = user.id;
      const now = new Date();
      const named = user.username === null ? {} : { username: user.username };
      let like: LikeDoc | null;
      try {
        like = await likes.findOneAndUpdate(
          { ...keyOf(postId, userId), active: { $ne: true } },
          {
            $set: {
              active: true,
              synced: false,
              postAuthorId,
              likedAt: now,
              updatedAt: now,
              ...named,
            },
            $inc: { version: 1 },
            $setOnInsert: { _id: newId(shardOfId(postId), now.getTime()) },
          },
          { upsert: true, returnDocument: 'after' },
        );
      } catch (error) {
        if (!isDuplicateKey(error)) throw error;
        await settle(postId, userId); // already liked
        return null;
      }
      return like ? sync(like) : null;
    },

    /** Idempotent: unliking a post not liked changes nothing (and returns null). */
    async unlike(postId: string, userId: string): Promise<Recounted | null> {
      const like = await likes.findOneAndUpdate(
        { ...keyOf(postId, userId), active: true },
        { $set: { active: false, synced: false, updatedAt: new Date() }, $inc: { version: 1 } },
        { returnDocument: 'after' },
      );
      if (like) return sync(like);
      await settle(postId, userId); // not liked, or being unliked
      return null;
    },

    /** Which of `postIds` `userId` likes. */
    async likedAmong(userId: string, postIds: readonly string[]): Promise<Set<string>> {
      const docs = await likes
        .find(
          {
            shard: { $in: [...new Set(postIds.map(shardOfId))] },
            postId: { $in: [...postIds] },
            userId,
            active: true,
          },
          { projection: { postId: 1 }, batchSize: postIds.length + 1 },
        )
        .toArray();
      return new Set(docs.map((doc) => doc.postId));
    },

    pagesByPost(postIds: readonly string[], page: Page): Promise<Map<string, LikeDoc[]>> {
      return pagesByParent(staleLikes, {
        parentField: 'postId',
        parents: postIds.map((id) => ({ id, shard: shardOfId(id) })),
        direction: -1,
        page,
        where: { active: true },
      });
    },

    /** Every like of a deleted post. Idempotent. */
    async forgetPost(postId: string): Promise<void> {
      await likes.deleteMany({ shard: shardOfId(postId), postId });
    },

    repair(olderThanMs: number): Promise<number> {
      return repairUnsynced(likes, olderThanMs, sync);
    },
  };
}

export type LikesStore = ReturnType<typeof likesStore>;
