import type { Collection, Document, Filter, WithId } from 'mongodb';
import { BACKGROUND_SCAN } from './mongo.js';

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

export async function recount<T extends Document>(
  counters: Collection<T>,
  key: Filter<T>,
  field: string,
  count: () => Promise<number>,
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
  await counters.updateOne(
    {
      ...key,
      $or: [{ [appliedField]: { $lt: seq } }, { [appliedField]: { $exists: false } }],
    } as Filter<T>,
    { $set: { [field]: value, [appliedField]: seq } } as never,
  );
  return { value, seq };
}

/**
 * The repair pass over a collection whose rows stay `synced: false` until their derived state
 * (counts, mirrors) is written: `sync` (idempotent) every row left so for longer than
 * `olderThanMs`, as a crash or a failed request leaves them. Returns how many it finished.
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
      { comment: BACKGROUND_SCAN, limit: 1_000 },
    )
    .toArray();
  for (const row of stale) await sync(row);
  return stale.length;
}

/**
 * Per-process group commit for one kind of counter: `run(key, recount)` returns the result of a
 * recount of `key` that starts after this call. Callers arriving while one runs share the next.
 * Every caller's `recount` for a key must count the same thing, since only the first one queued runs.
 */
export function coalescing<T>() {
  /** The recount of a key that has not started yet: newcomers join it. */
  const queued = new Map<string, Promise<T>>();
  /** The latest recount of a key, started or queued: the next one waits for it. */
  const latest = new Map<string, Promise<T>>();
  return (key: string, recount: () => Promise<T>): Promise<T> => {
    const joined = queued.get(key);
    if (joined) return joined;
    const start = () => {
      queued.delete(key);
      return recount();
    };
    const previous = latest.get(key);
    const next = previous ? previous.then(start, start) : Promise.resolve().then(start);
    queued.set(key, next);
    latest.set(key, next);
    const forget = () => {
      if (latest.get(key) === next) latest.delete(key);
    };
    next.then(forget, forget);
    return next;
  };
}
