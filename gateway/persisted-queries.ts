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
  /** Queries kept in this process in front of Redis. */
  localEntries: number;
  logger: Logger;
}

/**
 * Automatic persisted queries shared by every gateway replica: a query registered through one
 * replica (hash and text) is found by the hash alone on any other. A hash names its text for
 * good, so each process keeps the queries it has seen in a small LRU in front of Redis and asks
 * Redis only for hashes it has not met: the hot path costs no round trip. With Redis away, a
 * lookup is a miss (the client sends the full query again, as the APQ protocol has it) and a
 * registration stays local: never an error.
 */
export function persistedQueryCache(options: PersistedQueryCacheOptions): QueryCache {
  const local = new Map<string, string>();
  const key = (name: string) => `${options.prefix}:${name}`;
  const remember = (name: string, value: string) => {
    local.delete(name);
    local.set(name, value);
    if (local.size > options.localEntries) local.delete(local.keys().next().value as string);
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
      remember(name, value);
      try {
        await options.redis.set(key(name), value, 'EX', options.ttlSeconds);
        warned = false;
      } catch (error) {
        degraded(error);
      }
    },
    async delete(name) {
      local.delete(name);
      try {
        return (await options.redis.del(key(name))) > 0;
      } catch (error) {
        degraded(error);
        return false;
      }
    },
  };
}
