import type { AnyBulkWriteOperation, Db } from 'mongodb';
import { shardOfUser } from '../../../platform/ids.js';

/**
 * Home timelines, fanned out on write: one document per reader, on the reader's logical shard,
 * holding the ids of the newest posts of the people they follow (and their own), newest first and
 * capped at `length`. Reading a feed page is then one single-shard read however many accounts the
 * reader follows.
 *
 * Entries are only ever merged in (`$push` with `$sort` and `$slice`), never replaced, so a rebuild
 * and a concurrent fan-out cannot lose each other's entries; an entry that arrives twice is
 * dropped when read. A post deleted or an author unfollowed leaves its entry behind, and the
 * reader filters it out, so neither needs a fan-out of its own.
 */
export interface TimelineEntry {
  postId: string;
  authorId: string;
}

export interface TimelineDoc {
  _id: string;
  shard: number;
  entries: TimelineEntry[];
  /**
   * False from the moment a rebuild starts until it has merged in the history: fan-outs that land
   * meanwhile are kept, and a reader who finds it false rebuilds again.
   */
  complete: boolean;
  /**
   * When the last rebuild began. A TTL index drops a timeline `maxAgeDays` later, so a reader who
   * stopped reading stops costing fan-out writes; one who still reads gets a rebuild then.
   */
  builtAt: Date;
}

export interface TimelineWindow {
  complete: boolean;
  total: number;
  remaining: number;
  entries: TimelineEntry[];
}

export function timelinesStore(db: Db, options: { length: number; maxAgeDays: number }) {
  const timelines = db.collection<TimelineDoc>('timelines');
  const keyOf = (ownerId: string) => ({ shard: shardOfUser(ownerId), _id: ownerId });
  const merge = (entries: TimelineEntry[]) => ({
    $push: { entries: { $each: entries, $sort: { postId: -1 as const }, $slice: options.length } },
  });

  return {
    length: options.length,

    async ensureIndexes() {
      await timelines.createIndex({ shard: 1, _id: 1 });
      await timelines.createIndex(
        { builtAt: 1 },
        { expireAfterSeconds: options.maxAgeDays * 86_400 },
      );
    },

    /**
     * The first `count` entries older than `after` (all entries without it), cut on the server: a
     * whole timeline is `length` entries, and reading it per page made decoding it the feed's
     * largest cost. `total` is the timeline's full size, `remaining` how many entries are older
     * than `after`; null when the reader has no timeline.
     */
    async window(
      ownerId: string,
      after: string | undefined,
      count: number,
    ): Promise<TimelineWindow | null> {
      const older =
        after === undefined
          ? '$entries'
          : { $filter: { input: '$entries', cond: { $lt: ['$$this.postId', after] } } };
      const [found] = await timelines
        .aggregate<TimelineWindow>([
          { $match: keyOf(ownerId) },
          { $project: { _id: 0, complete: 1, total: { $size: '$entries' }, older } },
          {
            $project: {
              complete: 1,
              total: 1,
              remaining: { $size: '$older' },
              entries: { $slice: ['$older', count] },
            },
          },
        ])
        .toArray();
      return found ?? null;
    },

    /**
     * Fan-out on write: the entry goes into each owner's existing timeline, all in one command.
     * Readers who have no timeline yet get none: theirs is built from history on their first read.
     */
    async add(ownerIds: readonly string[], entry: TimelineEntry): Promise<void> {
      if (ownerIds.length === 0) return;
      const operations: AnyBulkWriteOperation<TimelineDoc>[] = ownerIds.map((ownerId) => ({
        updateOne: { filter: keyOf(ownerId), update: merge([entry]) },
      }));
      await timelines.bulkWrite(operations, { ordered: false });
    },

    /** The first step of a (re)build: from here on, fan-outs land in this timeline. */
    async beginRebuild(ownerId: string): Promise<void> {
      await timelines.updateOne(
        keyOf(ownerId),
        { $set: { complete: false, builtAt: new Date() }, $setOnInsert: { entries: [] } },
        { upsert: true },
      );
    },

    /** The last step of a (re)build: the history read after `beginRebuild`, merged in. */
    async finishRebuild(ownerId: string, history: TimelineEntry[]): Promise<void> {
      await timelines.updateOne(keyOf(ownerId), { ...merge(history), $set: { complete: true } });
    },

    /** Backfill: the entries of someone just followed, so their recent posts show at once. */
    async merge(ownerId: string, entries: TimelineEntry[]): Promise<void> {
      if (entries.length > 0) await timelines.updateOne(keyOf(ownerId), merge(entries));
    },
  };
}

export type TimelinesStore = ReturnType<typeof timelinesStore>;
