import type { Db, Filter } from 'mongodb';
import type { Page } from '../../../platform/connection.js';
import { newId, shardOfId, shardOfUser } from '../../../platform/ids.js';
import { BACKGROUND_SCAN, isDuplicateKey } from '../../../platform/mongo.js';
import { aggregate, EMPTY_GROUP, type CountedAction, type GroupState } from '../aggregate.js';

export type NotificationKind = 'LIKE' | 'COMMENT' | 'FOLLOW' | 'MENTION';

/**
 * One document per (recipient, group), on the recipient's logical shard: `like:<postId>` and
 * `follow` aggregate (aggregate.ts), `comment:<commentId>` and `mention:<postId or commentId>`
 * are one each. The unique key makes every write idempotent: a redelivered event finds its
 * notification already there. `sortKey` is an id made at the last change, so "most recently
 * updated first" is an index walk and a cursor; `rev` guards read-modify-write against a
 * concurrent one (another replica's batch, markNotificationsRead).
 */
export interface NotificationDoc extends GroupState {
  _id: string;
  shard: number;
  recipientId: string;
  group: string;
  kind: NotificationKind;
  postId: string | null;
  commentId: string | null;
  sortKey: string;
  updatedAt: Date;
  rev: number;
}

/** A single (not aggregated) notification to create. */
export interface SingleNotification {
  recipientId: string;
  group: string;
  kind: NotificationKind;
  actorId: string;
  postId: string | null;
  commentId: string | null;
}

/** Actions on one aggregated group. */
export interface GroupActions {
  recipientId: string;
  group: string;
  kind: NotificationKind;
  postId: string | null;
  actions: CountedAction[];
}

/** A new group's document, or the new state of one read at `rev`. */
type GroupWrite = { insert: NotificationDoc } | { rev: number; set: Partial<NotificationDoc> };

const VISIBLE = { actorCount: { $gt: 0 } };
const ATTEMPTS = 10;

export function notificationsStore(db: Db, options: { actorsKept: number }) {
  const notifications = db.collection<NotificationDoc>('notifications');
  const keyOf = (recipientId: string, group: string) => ({
    shard: shardOfUser(recipientId),
    recipientId,
    group,
  });
  // Strictly increasing in this process: notifications written in one batch keep the order of the
  // events behind them (a shared timestamp would leave it to the ids' random part).
  let lastTime = 0;
  const stamp = (recipientId: string) => {
    lastTime = Math.max(Date.now(), lastTime + 1);
    return { sortKey: newId(shardOfUser(recipientId), lastTime), updatedAt: new Date(lastTime) };
  };

  /** Read, aggregate, write guarded by `rev`; groups that lost a race are read again. */
  async function applyGroups(groups: GroupActions[]): Promise<string[]> {
    const changed = new Set<string>();
    let pending = groups;
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt === ATTEMPTS)
        throw new Error(`notifications: ${pending.length} groups contended`);
      const found = await notifications
        .find({
          shard: { $in: [...new Set(pending.map((g) => shardOfUser(g.recipientId)))] },
          $or: pending.map((g) => ({ recipientId: g.recipientId, group: g.group })),
        })
        .toArray();
      const byKey = new Map(found.map((doc) => [`${doc.recipientId}\n${doc.group}`, doc]));
      const writes: { group: GroupActions; write: GroupWrite }[] = [];
      for (const group of pending) {
        const doc = byKey.get(`${group.recipientId}\n${group.group}`);
        const before: GroupState = doc ?? EMPTY_GROUP;
        const { state, bumped } = aggregate(
          before,
          group.recipientId,
          group.actions,
          options.actorsKept,
        );
        const { actors, actorCount, read, seq, total, seen, self, selfSeq } = state;
        const fields = { actors, actorCount, read, seq, total, seen, self, selfSeq };
        if (JSON.stringify(fields) === JSON.stringify(pick(before))) continue;
        const touched = bumped ? stamp(group.recipientId) : {};
        if (doc) {
          writes.push({ group, write: { rev: doc.rev, set: { ...fields, ...touched } } });
        } else {
          const stamped = stamp(group.recipientId);
          writes.push({
            group,
            write: {
              insert: {
                _id: stamped.sortKey,
                ...keyOf(group.recipientId, group.group),
                kind: group.kind,
                postId: group.postId,
                commentId: null,
                ...fields,
                ...stamped,
                rev: 1,
              },
            },
          });
        }
      }
      pending = [];
      // Each write is guarded on its own; a storm on one post makes one write per batch anyway.
      for (const { group, write } of writes) {
        if (await applied(group, write)) changed.add(group.recipientId);
        else pending.push(group);
      }
    }
    return [...changed];
  }

  async function applied(group: GroupActions, write: GroupWrite): Promise<boolean> {
    try {
      if ('insert' in write) {
        await notifications.insertOne(write.insert);
        return true;
      }
      const result = await notifications.updateOne(
        { ...keyOf(group.recipientId, group.group), rev: write.rev },
        { $set: write.set, $inc: { rev: 1 } },
      );
      return result.matchedCount === 1;
    } catch (error) {
      if (isDuplicateKey(error)) return false;
      throw error;
    }
  }

  return {
    async ensureIndexes() {
      await notifications.createIndex({ shard: 1, recipientId: 1, group: 1 }, { unique: true });
      await notifications.createIndex({ shard: 1, recipientId: 1, sortKey: -1 });
      // The unread count, on every change pushed to a recipient: counted from the keys alone,
      // however many notifications the recipient has.
      await notifications.createIndex({ shard: 1, recipientId: 1, read: 1, actorCount: 1 });
      await notifications.createIndex({ postId: 1 }, { sparse: true });
    },

    /** Aggregated groups; returns the recipients whose notifications changed. */
    applyGroups,

    /**
     * Single notifications, all in one command; an existing one (a redelivery) is left as it is.
     * Returns the recipients who got a new one.
     */
    async createSingles(singles: SingleNotification[]): Promise<string[]> {
      if (singles.length === 0) return [];
      const result = await notifications.bulkWrite(
        singles.map((single) => {
          const stamped = stamp(single.recipientId);
          return {
            updateOne: {
              filter: keyOf(single.recipientId, single.group),
              update: {
                $setOnInsert: {
                  _id: stamped.sortKey,
                  kind: single.kind,
                  postId: single.postId,
                  commentId: single.commentId,
                  ...EMPTY_GROUP,
                  actors: [single.actorId],
                  actorCount: 1,
                  ...stamped,
                  rev: 1,
                },
              },
              upsert: true,
            },
          };
        }),
        { ordered: false },
      );
      const inserted = Object.keys(result.upsertedIds).map(
        (index) => (singles[Number(index)] as SingleNotification).recipientId,
      );
      return [...new Set(inserted)];
    },

    /** Single notifications taken back (a deleted comment); returns the recipients who lost one. */
    async removeSingles(keys: { recipientId: string; group: string }[]): Promise<string[]> {
      const removed: string[] = [];
      for (const key of keys) {
        const result = await notifications.deleteOne(keyOf(key.recipientId, key.group));
        if (result.deletedCount > 0) removed.push(key.recipientId);
      }
      return [...new Set(removed)];
    },

    /**
     * Every notification about a deleted post, whoever received it (mentions went to anyone):
     * off the request path, in the consumer of post deletions, so it may ask every shard.
     */
    async forgetPost(postId: string): Promise<string[]> {
      const gone = await notifications
        .find({ postId }, { projection: { recipientId: 1 }, comment: BACKGROUND_SCAN })
        .toArray();
      if (gone.length === 0) return [];
      await notifications.deleteMany({ postId }, { comment: BACKGROUND_SCAN });
      return [...new Set(gone.map((doc) => doc.recipientId))];
    },

    /** Newest first; `page.after` is a sortKey. */
    page(recipientId: string, page: Page): Promise<NotificationDoc[]> {
      return notifications
        .find(
          {
            shard: shardOfUser(recipientId),
            recipientId,
            ...VISIBLE,
            ...(page.after ? { sortKey: { $lt: page.after } } : {}),
          },
          { sort: { sortKey: -1 }, limit: page.limit + 1, batchSize: page.limit + 1 },
        )
        .toArray();
    },

    unreadCount(recipientId: string): Promise<number> {
      return notifications.countDocuments({
        shard: shardOfUser(recipientId),
        recipientId,
        read: false,
        ...VISIBLE,
      });
    },

    async byIds(ids: readonly string[]): Promise<NotificationDoc[]> {
      return notifications
        .find(
          { shard: { $in: [...new Set(ids.map(shardOfId))] }, _id: { $in: [...ids] }, ...VISIBLE },
          { batchSize: ids.length + 1 },
        )
        .toArray();
    },

    /** All the recipient's unread notifications, or those updated no later than `upTo`'s. */
    async markRead(recipientId: string, upTo: NotificationDoc | null): Promise<void> {
      const filter: Filter<NotificationDoc> = {
        shard: shardOfUser(recipientId),
        recipientId,
        read: false,
        ...(upTo ? { sortKey: { $lte: upTo.sortKey } } : {}),
      };
      await notifications.updateMany(filter, { $set: { read: true }, $inc: { rev: 1 } });
    },
  };
}

function pick(state: GroupState): GroupState {
  const { actors, actorCount, read, seq, total, seen, self, selfSeq } = state;
  return { actors, actorCount, read, seq, total, seen, self, selfSeq };
}

export type NotificationsStore = ReturnType<typeof notificationsStore>;
