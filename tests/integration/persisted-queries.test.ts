import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { persistedQueryCache } from '../../gateway/persisted-queries.js';
import { createLogger } from '../../platform/logger.js';
import { freePort } from '../../scripts/services.js';

test('with Redis away, persisted queries miss instead of failing, and the local copy serves', async () => {
  // Nothing listens on this port: every command fails at once (no offline queue).
  const redis = new Redis(`redis://127.0.0.1:${await freePort()}`, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    lazyConnect: true,
  });
  redis.on('error', () => undefined);
  try {
    const cache = persistedQueryCache({
      redis,
      prefix: 'test',
      ttlSeconds: 60,
      localEntries: 1,
      logger: createLogger('test', 'silent'),
    });
    assert.equal(await cache.get('apq:unknown'), undefined);
    await cache.set('apq:a', '{ a }');
    assert.equal(await cache.get('apq:a'), '{ a }');
    // Only one entry is kept locally: the older one is gone, and Redis cannot answer for it.
    await cache.set('apq:b', '{ b }');
    assert.equal(await cache.get('apq:a'), undefined);
    assert.equal(await cache.get('apq:b'), '{ b }');
  } finally {
    redis.disconnect();
  }
});
