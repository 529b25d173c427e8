import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, test } from 'node:test';
import { connectCache } from '../../platform/cache.js';
import { createLogger } from '../../platform/logger.js';
import { createMetrics } from '../../platform/metrics.js';

const cache = connectCache({
  url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  prefix: `t${randomBytes(4).toString('hex')}:cache`,
  timeoutMs: 1_000,
  ttlSeconds: 60,
  logger: createLogger('test', 'silent'),
  metrics: createMetrics('test'),
});
after(() => cache.close());

interface Versioned {
  value: string;
  version: number;
}
const docs = cache.of<Versioned>('doc', {
  version: (doc) => doc.version,
  encode: (doc) => doc,
  decode: (value) => value as Versioned,
});

async function ready() {
  for (let i = 0; i < 100 && !cache.connected(); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(cache.connected());
}

test('a put never replaces a newer version, so a slow reader cannot undo a write', async () => {
  await ready();
  await docs.put([{ id: 'a', doc: { value: 'written', version: 5 } }]);
  // A reader that fetched the document before the write puts it back late.
  await docs.put([{ id: 'a', doc: { value: 'stale', version: 4 } }]);
  assert.deepEqual((await docs.get(['a'])).get('a'), { value: 'written', version: 5 });
  await docs.put([{ id: 'a', doc: { value: 'newer', version: 6 } }]);
  assert.equal((await docs.get(['a'])).get('a')?.value, 'newer');
});

test('get answers the cached subset of the ids asked, in one round trip', async () => {
  await ready();
  await docs.put([
    { id: 'x', doc: { value: 'x', version: 1 } },
    { id: 'y', doc: { value: 'y', version: 1 } },
  ]);
  const found = await docs.get(['x', 'missing', 'y']);
  assert.deepEqual([...found.keys()].sort(), ['x', 'y']);
});
