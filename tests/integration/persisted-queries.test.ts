import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import {
  persistedQueryCache,
  type PersistedQueryCacheOptions,
} from '../../gateway/persisted-queries.js';
import { createLogger } from '../../platform/logger.js';
import { freePort } from '../../scripts/stack/services.js';

function cacheOn(redis: Redis, options: Partial<PersistedQueryCacheOptions> = {}) {
  return persistedQueryCache({
    redis,
    prefix: `t${randomBytes(4).toString('hex')}`,
    ttlSeconds: 60,
    localBytes: 1_000_000,
    redisBytes: 1_000_000,
    maxQueryBytes: 50_000,
    logger: createLogger('test', 'silent'),
    ...options,
  });
}

test('with Redis away, persisted queries miss instead of failing, and the local copy serves', async () => {
  // Nothing listens on this port: every command fails at once (no offline queue).
  const redis = new Redis(`redis://127.0.0.1:${await freePort()}`, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    lazyConnect: true,
  });
  redis.on('error', () => undefined);
  try {
    // Room for one of these 5-byte queries in this process.
    const cache = cacheOn(redis, { localBytes: 8 });
    assert.equal(await cache.get('apq:unknown'), undefined);
    await cache.set('apq:a', '{ a }');
    assert.equal(await cache.get('apq:a'), '{ a }');
    // The older one is gone, and Redis cannot answer for it.
    await cache.set('apq:b', '{ b }');
    assert.equal(await cache.get('apq:a'), undefined);
    assert.equal(await cache.get('apq:b'), '{ b }');
  } finally {
    redis.disconnect();
  }
});

/** Runs `work` with a Redis connection and a fresh prefix, whose keys are deleted afterwards. */
async function withRedis(work: (redis: Redis, prefix: string) => Promise<void>) {
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const prefix = `t${randomBytes(4).toString('hex')}`;
  try {
    await work(redis, prefix);
  } finally {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  }
}

test('Redis and the local copy hold at most their byte budgets, oldest registrations dropped first', () =>
  withRedis(async (redis, prefix) => {
    const cache = cacheOn(redis, { prefix, redisBytes: 10_000, localBytes: 3_000 });
    const text = (i: number) => `{ q${String(i).padStart(3, '0')} } # ${'x'.repeat(985)}`;
    for (let i = 0; i < 50; i++) await cache.set(`apq:${i}`, text(i));
    const keys = await redis.keys(`${prefix}:apq:*`);
    const stored = (await Promise.all(keys.map((k) => redis.strlen(k)))).reduce((a, b) => a + b, 0);
    assert.ok(stored <= 10_000, `${stored} bytes in Redis`);
    assert.equal(Number(await redis.get(`${prefix}:apq-bytes`)), stored);
    assert.equal(await redis.get(`${prefix}:apq:0`), null);
    assert.equal(await redis.get(`${prefix}:apq:49`), text(49));
    // A fresh process (no local copy) finds the recent ones through Redis.
    assert.equal(await cacheOn(redis, { prefix }).get('apq:45'), text(45));
    // The local copy kept only the last few, by bytes: with Redis emptied, older ones miss.
    await redis.del(...keys);
    assert.equal(await cache.get('apq:49'), text(49));
    assert.equal(await cache.get('apq:45'), undefined);
  }));

test('queries past maxQueryBytes are not kept; expired ones leave the byte count', () =>
  withRedis(async (redis, prefix) => {
    const cache = cacheOn(redis, { prefix, ttlSeconds: 1, maxQueryBytes: 100 });
    await cache.set('apq:big', `{ a } # ${'x'.repeat(100)}`);
    assert.equal(await redis.get(`${prefix}:apq:big`), null);
    assert.equal(await cacheOn(redis, { prefix }).get('apq:big'), undefined);
    await cache.set('apq:a', '{ a }');
    assert.equal(Number(await redis.get(`${prefix}:apq-bytes`)), 5);
    await delay(1_100);
    await cache.set('apq:b', '{ bb }');
    assert.equal(Number(await redis.get(`${prefix}:apq-bytes`)), 6);
    assert.equal(await redis.zcard(`${prefix}:apq-index`), 1);
  }));
