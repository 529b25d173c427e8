import type { Collection, Document, Filter, WithId } from 'mongodb';
import { REPAIR_COMMENT } from './mongo.js';

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
      { comment: REPAIR_COMMENT, limit: 1_000 },
    )
    .toArray();
  for (const row of stale) await sync(row);
  return stale.length;
}
