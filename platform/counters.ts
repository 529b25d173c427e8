import type { Collection, Db, Document, Filter, WithId } from 'mongodb';
import { setTimeout as delay } from 'node:timers/promises';
import type { Cache } from './cache.js';
import { shardOfId } from './ids.js';
import { BACKGROUND_SCAN, staleReads } from './mongo.js';

/**
 * Counters that converge without transactions.
 *
 * A count (likes of a post, followers of a user) is stored on a document but never incremented:
 * after every write that may change it, the writer recounts the source rows and stores the result.
 * Recounting is idempotent, so a retry or a repair pass can never count twice, and a crash between
 * the write and the recount only leaves the count stale until the repair pass redoes it.
 *
 * Concurrent recounts race, so each takes a ticket from `<field>Seq` on the counter document before
 * it counts, and stores its result only if no later ticket was stored first. The recount holding
 * the highest ticket started counting after every write that finished before it, so the value that
 * stays is exact once writes stop.
 *
 * A storm of writes on one counter (thousands of likes a second on one post) would otherwise run
 * one full recount per write. `coalescing` turns that into group commit: while a recount of a
 * counter runs, every writer that finishes meanwhile joins the single recount queued behind it,
 * which starts after all of their writes. Each writer still gets a count that includes its own
 * write; a storm costs about one recount per recount's duration, not one per write.
 */
export interface Recounted {
  value: number;
  /** The recount's ticket: a later recount of the same counter has a larger one. */
  seq: number;
}

/**
 * `alongside`, read after the count, is stored with it under the same ticket: state derived from
 * the same rows (a post's first comments), so it is exactly as fresh as the count.
 */
export async function recount<T extends Document>(
  counters: Collection<T>,
  key: Filter<T>,
  field: string,
  count: () => Promise<number>,
  alongside?: () => Promise<Document>,
): Promise<Recounted> {
  const seqField = `${field}Seq`;
  const appliedField = `${field}Applied`;
  const ticket = await counters.findOneAndUpdate(key, { $inc: { [seqField]: 1 } } as never, {
    upsert: true,
    returnDocument: 'after',
    projection: { [seqField]: 1 },
  });
  const seq = (ticket as Record<string, unknown> | null)?.[seqField];
  if (typeof seq !== 'number') throw new Error(`recount: no ticket for ${field}`);
  const value = await count();
  const derived = alongside ? await alongside() : {};
  await counters.updateOne(
    {
      ...key,
      $or: [{ [appliedField]: { $lt: seq } }, { [appliedField]: { $exists: false } }],
    } as Filter<T>,
    { $set: { ...derived, [field]: value, [appliedField]: seq } } as never,
  );
  return { value, seq };
}

/**
 * The repair pass over a collection whose rows stay `synced: false` until their derived state
 * (counts, mirrors) is written: `sync` (idempotent) every row left so for longer than
 * `olderThanMs`, as a crash or a failed request leaves them. Returns how many it finished.
 *
 * Oldest change first, one at a time: each sync takes the next recount ticket and announces the
 * row, so consumers that aggregate (a notification's latest actors) see the changes in the order
 * they were written, as they would have without the failure.
 */
export async function repairUnsynced<T extends Document & { synced: boolean; updatedAt: Date }>(
  collection: Collection<T>,
  olderThanMs: number,
  sync: (row: WithId<T>) => Promise<unknown>,
): Promise<number> {
  const stale = await collection
    .find(
      // The constraint on T guarantees both fields; the driver's Filter type cannot see through it.
      {
        synced: false,
        updatedAt: { $lt: new Date(Date.now() - olderThanMs) },
      } as unknown as Filter<T>,
      { comment: BACKGROUND_SCAN, sort: { updatedAt: 1 }, limit: 1_000 },
    )
    .toArray();
  for (const row of stale) await sync(row);
  return stale.length;
}

/**
 * How long the next of back-to-back shared runs waits after the previous one settles. Without a
 * pause, recounts of a hot counter run back to back for as long as writes keep arriving, and each
 * counts every row (thousands for a viral post): that kept a database thread busy through a whole
 * like storm. With it, a storm costs at most about 1000 / (recount ms + 50) recounts a second, for
 * up to 50 ms more latency, while a write with no recount in progress still recounts at once.
 */
export const STORM_GAP_MS = 50;

/**
 * Per-process group commit for one kind of counter: `run(key, recount)` returns the result of a
 * recount of `key` that starts after this call. Callers arriving while one runs share the next,
 * which starts `gapMs` after that one settles and takes in the callers arriving meanwhile too.
 * Every caller's `recount` for a key must count the same thing, since only the first one queued runs.
 */
export function coalescing<T>(gapMs = 0) {
  /** The recount of a key that has not started yet: newcomers join it. */
  const queued = new Map<string, Promise<T>>();
  /** The latest recount of a key, started or queued: the next one waits for it. */
  const latest = new Map<string, Promise<T>>();
  const pause = () => (gapMs > 0 ? delay(gapMs) : undefined);
  return (key: string, recount: () => Promise<T>): Promise<T> => {
    const joined = queued.get(key);
    if (joined) return joined;
    const start = () => {
      queued.delete(key);
      return recount();
    };
    const previous = latest.get(key);
    const settled = previous?.then(pause, pause);
    const next = settled ? settled.then(start) : Promise.resolve().then(start);
    queued.set(key, next);
    latest.set(key, next);
    const forget = () => {
      if (latest.get(key) === next) latest.delete(key);
    };
    next.then(forget, forget);
    return next;
  };
}

interface PostCounterDoc {
  _id: string;
  shard: number;
  [field: string]: unknown;
}

/** A post's count, and the first rows it counts where the store keeps them (`PostCounterHead`). */
export interface PostCounter<H> {
  value: number;
  /** Absent where not kept, or not yet: a counter document written before heads were. */
  head?: H[];
}

interface CachedCount<H> extends PostCounter<H> {
  seq: number;
}

/**
 * The first rows of the list a counter counts, kept on the counter document and in its cache
 * entry, recomputed by every recount: so the preview a feed shows of each post (its first two
 * comments) costs no query of its own. `read` returns the first rows of what `count` counts, in
 * the list's order.
 */
export interface PostCounterHead<H> {
  field: string;
  read(postId: string): Promise<H[]>;
  encode(row: H): unknown;
  decode(value: unknown): H;
}

/**
 * One counter document per post (`like_counts`, `comment_counts`), on the post's logical shard,
 * read through the cache: a recount puts its result with its ticket, so a cached count never goes
 * back to an older one, and a post nobody counted yet is cached as 0 at ticket 0.
 */
export function postCounterStore<H = never>(
  db: Db,
  options: { collection: string; field: string; cache: Cache; head?: PostCounterHead<H> },
) {
  const { field, head } = options;
  const counts = db.collection<PostCounterDoc>(options.collection);
  const staleCounts = staleReads(db).collection<PostCounterDoc>(options.collection);
  const cached = options.cache.of<CachedCount<H>>(field, {
    version: (count) => count.seq,
    encode: (count) =>
      head && count.head
        ? [count.value, count.seq, count.head.map(head.encode)]
        : [count.value, count.seq],
    decode: (value) => {
      const [count, seq, rows] = value as [number, number, unknown[] | undefined];
      return { value: count, seq, ...(head && rows ? { head: rows.map(head.decode) } : {}) };
    },
  });
  const coalesce = coalescing<Recounted>(STORM_GAP_MS);
  const projection = { [field]: 1, [`${field}Applied`]: 1, ...(head ? { [head.field]: 1 } : {}) };
  // A post nobody counted yet is cached too, as 0 at ticket 0 (and no rows).
  const fromDatabase =
    (collection: typeof counts) =>
    async (postIds: string[]): Promise<{ id: string; doc: CachedCount<H> }[]> => {
      const docs = await collection
        .find(
          { shard: { $in: [...new Set(postIds.map(shardOfId))] }, _id: { $in: postIds } },
          { projection, batchSize: postIds.length + 1 },
        )
        .toArray();
      const byId = new Map(docs.map((doc) => [doc._id, doc]));
      return postIds.map((id) => {
        const doc = byId.get(id);
        const applied = doc?.[`${field}Applied`];
        const value = doc?.[field];
        // No document: nothing counted yet, so no rows either. A document without the field was
        // written before heads were kept: none until its next recount.
        const rows = doc && head ? doc[head.field] : [];
        return {
          id,
          doc: {
            value: typeof value === 'number' ? value : 0,
            seq: typeof applied === 'number' ? applied : 0,
            ...(head && Array.isArray(rows) ? { head: rows as H[] } : {}),
          },
        };
      });
    };

  /** Read where staleness is tolerated: a mutation answers with its own recount instead. */
  async function countersOf(postIds: readonly string[]): Promise<Map<string, PostCounter<H>>> {
    const found = await cached.through(postIds, fromDatabase(staleCounts));
    return new Map(postIds.map((id) => [id, found.get(id) ?? { value: 0 }]));
  }

  return {
    async ensureIndexes() {
      await counts.createIndex({ shard: 1, _id: 1 });
    },

    countersOf,

    async byPostIds(postIds: readonly string[]): Promise<Map<string, number>> {
      const found = await countersOf(postIds);
      return new Map(postIds.map((id) => [id, found.get(id)?.value ?? 0]));
    },

    /**
     * The count as the primary holds it, past the cache: what a mutation that changed no row
     * answers, so that its answer reflects the database even before a reconciliation.
     */
    async current(postId: string): Promise<number> {
      const [count] = await fromDatabase(counts)([postId]);
      return count?.doc.value ?? 0;
    },

    /** Drops cached counts the database is behind (after a rollback or a restore). */
    reconcileCache(): Promise<number> {
      return cached.reconcile(fromDatabase(counts));
    },

    /** The counter of a deleted post, and its cache entry, which would otherwise read as ahead. */
    async forgetPost(postId: string): Promise<void> {
      await counts.deleteOne({ shard: shardOfId(postId), _id: postId });
      await cached.drop([postId]);
    },

    /**
     * Coalesced: a storm of writes on one post shares recounts (see `coalescing`). The head, where
     * kept, is read again with the count: after a write that changes a row it shows, call this
     * even when the count stays (an edit).
     */
    recount(postId: string, count: () => Promise<number>): Promise<Recounted> {
      return coalesce(postId, async () => {
        let rows: H[] | undefined;
        const readHead = head
          ? async () => ({ [head.field]: (rows = await head.read(postId)) })
          : undefined;
        const result = await recount(
          counts,
          { shard: shardOfId(postId), _id: postId },
          field,
          count,
          readHead,
        );
        await cached.put([{ id: postId, doc: { ...result, ...(rows ? { head: rows } : {}) } }]);
        return result;
      });
    },
  };
}

export type PostCounterStore = ReturnType<typeof postCounterStore>;
