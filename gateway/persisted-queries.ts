import type { Redis } from 'ioredis';
import type { Logger } from '../platform/logger.js';

/** Apollo Server's `KeyValueCache` contract (the persisted-query store takes any such cache). */
export interface QueryCache {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string, options?: { ttl?: number | null }): Promise<void>;
  delete(key: string): Promise<boolean | void>;
}

export interface PersistedQueryCacheOptions {
  redis: Redis;
  /** Keys are `<prefix>:apq:<hash>` (Apollo Server adds `apq:`), beside the rate-limit keys. */
  prefix: string;
  /** Seconds a registered query lives in Redis after its last registration. */
  ttlSeconds: number;
  /** Bytes of query text kept in this process in front of Redis, least recently used dropped first. */
  localBytes: number;
  /** Bytes of query text kept in Redis by every replica together, oldest registration dropped first. */
  redisBytes: number;
  /**
   * Longest query text kept, in bytes. Requests check `MAX_QUERY_BYTES` before Apollo Server sees
   * them, so a longer one never gets here; this is the store's own guard.
   */
  maxQueryBytes: number;
  logger: Logger;
}

/**
 * Stores a query and keeps the whole set under a byte budget, in one atomic step: a sorted set
 * of keys by registration time, a hash of their sizes and a running total. Entries that expired
 * (TTL) leave the books when the next registration comes; the oldest go until the total fits.
 * Every key shares the prefix, so on a Redis Cluster the prefix must be a hash tag (`{ig}`).
 */
const STORE = `
local key, value, ttl, now, budget = KEYS[1], ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local index, sizes, total = KEYS[2], KEYS[3], KEYS[4]
local function forget(name)
  local size = tonumber(redis.call('HGET', sizes, name) or '0')
  redis.call('DEL', name)
  redis.call('ZREM', index, name)
  redis.call('HDEL', sizes, name)
  return redis.call('DECRBY', total, size)
end
for _, name in ipairs(redis.call('ZRANGEBYSCORE', index, '-inf', now - ttl * 1000)) do forget(name) end
local before = tonumber(redis.call('HGET', sizes, key) or '0')
redis.call('SET', key, value, 'EX', ttl)
redis.call('HSET', sizes, key, #value)
redis.call('ZADD', index, now, key)
local bytes = redis.call('INCRBY', total, #value - before)
while bytes > budget do
  local oldest = redis.call('ZRANGE', index, 0, 0)[1]
  if not oldest then break end
  bytes = forget(oldest)
end
return bytes
`;

/**
 * Automatic persisted queries shared by every gateway replica: a query registered through one
 * replica (hash and text) is found by the hash alone on any other. A hash names its text for
 * good, so each process keeps the queries it has seen in a small LRU in front of Redis and asks
 * Redis only for hashes it has not met: the hot path costs no round trip. Both are bounded by
 * bytes, not entries: a client choosing its query texts must not choose the memory they take.
 * With Redis away, a lookup is a miss (the client sends the full query again, as the APQ protocol
 * has it) and a registration stays local: never an error.
 */
export function persistedQueryCache(options: PersistedQueryCacheOptions): QueryCache {
  const local = new Map<string, string>();
  let localBytes = 0;
  const key = (name: string) => `${options.prefix}:${name}`;
  const books = ['apq-index', 'apq-sizes', 'apq-bytes'].map(key);
  const forget = (name: string) => {
    const value = local.get(name);
    if (value === undefined) return;
    local.delete(name);
    localBytes -= Buffer.byteLength(value);
  };
  const remember = (name: string, value: string) => {
    forget(name);
    local.set(name, value);
    localBytes += Buffer.byteLength(value);
    while (localBytes > options.localBytes && local.size > 0)
      forget(local.keys().next().value as string);
  };
  let warned = false;
  const degraded = (error: unknown) => {
    // Once per outage is enough: every request would otherwise log the same line.
    if (!warned) options.logger.warn({ err: error }, 'persisted queries: Redis unavailable');
    warned = true;
  };

  return {
    async get(name) {
      const hit = local.get(name);
      if (hit !== undefined) {
        remember(name, hit);
        return hit;
      }
      try {
        const value = await options.redis.get(key(name));
        warned = false;
        if (value === null) return undefined;
        remember(name, value);
        return value;
      } catch (error) {
        degraded(error);
        return undefined;
      }
    },
    async set(name, value) {
      if (Buffer.byteLength(value) > options.maxQueryBytes) return;
      remember(name, value);
      try {
        await options.redis.eval(
          STORE,
          1 + books.length,
          key(name),
          ...books,
          value,
          options.ttlSeconds,
          Date.now(),
          options.redisBytes,
        );
        warned = false;
      } catch (error) {
        degraded(error);
      }
    },
    async delete(name) {
      forget(name);
      try {
        return (await options.redis.del(key(name))) > 0;
      } catch (error) {
        degraded(error);
        return false;
      }
    },
  };
}
