import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { after, test } from 'node:test';
import { connectCache } from '../../platform/cache.js';
import { createLogger } from '../../platform/logger.js';
import { createMetrics } from '../../platform/metrics.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `t${randomBytes(4).toString('hex')}:cache`;
const options = {
  url: REDIS_URL,
  prefix,
  timeoutMs: 1_000,
  ttlSeconds: 60,
  logger: createLogger('test', 'silent'),
  metrics: createMetrics('test'),
};
const cache = connectCache(options);
after(() => cache.close());

interface Versioned {
  value: string;
  version: number;
}
const codec = {
  version: (doc: Versioned) => doc.version,
  encode: (doc: Versioned) => doc,
  decode: (value: unknown) => value as Versioned,
};
const docs = cache.of<Versioned>('doc', codec);

async function ready(of: { connected(): boolean } = cache) {
  for (let i = 0; i < 100 && !of.connected(); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(of.connected());
}

/** Keeps this process busy, as a long tick under load does. */
function busyFor(ms: number) {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

/**
 * A TCP relay to Redis that can hold Redis's answers back (a hung Redis) and let them through
 * again in order (a slow one).
 */
async function hangableRedis() {
  const target = new URL(REDIS_URL);
  const sockets: Socket[] = [];
  const held: { client: Socket; chunk: Buffer }[] = [];
  let hung = false;
  const server = createServer((client) => {
    const upstream = connect(Number(target.port || 6379), target.hostname);
    sockets.push(client, upstream);
    client.on('data', (chunk) => upstream.write(chunk));
    upstream.on('data', (chunk: Buffer) => {
      if (hung) held.push({ client, chunk });
      else client.write(chunk);
    });
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `redis://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hang: () => {
      hung = true;
    },
    resume: () => {
      hung = false;
      for (const { client, chunk } of held.splice(0)) client.write(chunk);
    },
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

/** The cache's lookups so far, by outcome. */
async function outcomes(metrics: ReturnType<typeof createMetrics>) {
  const counted = new Map<string, number>();
  for (const { labels, value } of (await metrics.cache.get()).values) {
    counted.set(String(labels.outcome), value);
  }
  return counted;
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

test('an answer that arrives while the process is busy is a hit, not a timeout', async () => {
  // A short timeout, and a tick far longer than it: the answer is in the socket when the tick
  // ends, and a timer that fired first would turn the cache off for a second.
  const quick = connectCache({ ...options, timeoutMs: 20 });
  try {
    await ready(quick);
    const quickDocs = quick.of<Versioned>('doc', codec);
    await docs.put([{ id: 'busy', doc: { value: 'cached', version: 1 } }]);
    const first = quickDocs.get(['busy']);
    busyFor(500);
    assert.equal((await first).get('busy')?.value, 'cached');
    assert.equal((await quickDocs.get(['busy'])).get('busy')?.value, 'cached');
  } finally {
    await quick.close();
  }
});

test('a Redis that stops answering is a miss after the timeout, then the cache steps aside', async () => {
  const relay = await hangableRedis();
  const metrics = createMetrics('test');
  const hanging = connectCache({ ...options, url: relay.url, timeoutMs: 50, metrics });
  try {
    await ready(hanging);
    const hangingDocs = hanging.of<Versioned>('doc', codec);
    await docs.put([{ id: 'hung', doc: { value: 'cached', version: 1 } }]);
    assert.equal((await hangingDocs.get(['hung'])).get('hung')?.value, 'cached');
    relay.hang();
    for (let i = 0; i < 4; i++) assert.equal((await hangingDocs.get(['hung'])).size, 0);
    // Three timeouts, outnumbering the answers of the moment: the fourth lookup did not wait.
    const counted = await outcomes(metrics);
    assert.equal(counted.get('error'), 3);
    assert.equal(counted.get('skipped'), 1);
  } finally {
    await hanging.close();
    relay.close();
  }
});

test('one slow answer is a miss for its own lookup only', async () => {
  const relay = await hangableRedis();
  const metrics = createMetrics('test');
  const slow = connectCache({ ...options, url: relay.url, timeoutMs: 50, metrics });
  try {
    await ready(slow);
    const slowDocs = slow.of<Versioned>('doc', codec);
    await docs.put([{ id: 'slow', doc: { value: 'cached', version: 1 } }]);
    relay.hang();
    assert.equal((await slowDocs.get(['slow'])).size, 0);
    relay.resume();
    assert.equal((await slowDocs.get(['slow'])).get('slow')?.value, 'cached');
    const counted = await outcomes(metrics);
    assert.equal(counted.get('error'), 1);
    assert.equal(counted.get('skipped'), undefined);
  } finally {
    await slow.close();
    relay.close();
  }
});
