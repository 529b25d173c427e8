import { randomBytes } from 'node:crypto';

/**
 * Ids that carry their own routing, after Instagram's sharded ids: 12 hex digits of milliseconds
 * since the Unix epoch, 3 of logical shard, 10 of randomness (25 characters). Sorting ids sorts by
 * creation time, so "newest first" is an index walk on the id alone; and the logical shard, decoded
 * from the id, is the leading field of every sharded collection's shard key, so a lookup by id
 * routes to one shard without a directory. A post takes its author's logical shard and a comment
 * its post's, which keeps an author's posts and a post's comments and likes together.
 */
export const LOGICAL_SHARDS = 4096;

const ID = /^[0-9a-f]{25}$/;

export function isEntityId(value: string): boolean {
  return ID.test(value);
}

export function newId(shard: number, now: number = Date.now()): string {
  if (!Number.isInteger(shard) || shard < 0 || shard >= LOGICAL_SHARDS) {
    throw new RangeError(`logical shard out of range: ${shard}`);
  }
  return (
    now.toString(16).padStart(12, '0') +
    shard.toString(16).padStart(3, '0') +
    randomBytes(5).toString('hex')
  );
}

/** The logical shard encoded in an id made by `newId`. */
export function shardOfId(id: string): number {
  if (!ID.test(id)) throw new RangeError(`not an entity id: ${id}`);
  return parseInt(id.slice(12, 15), 16);
}

export function timeOfId(id: string): Date {
  return new Date(parseInt(id.slice(0, 12), 16));
}

/**
 * User ids come from the identity provider (the token's `sub`) and carry no routing, so their
 * logical shard is a hash of the id (FNV-1a, stable across processes and languages).
 */
export function shardOfUser(userId: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < userId.length; i++) {
    hash ^= userId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % LOGICAL_SHARDS;
}
