import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { after, mock, test } from 'node:test';
import { Redis } from 'ioredis';
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
  reconcileEveryMs: 60_000,
  reconcileKeysPerPass: 20_000,
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

test('the step-aside lasts its second even when the wall clock steps back', async (t) => {
  const relay = await hangableRedis();
  const metrics = createMetrics('test');
  const hanging = connectCache({ ...options, url: relay.url, timeoutMs: 50, metrics });
  t.after(() => mock.timers.reset());
  try {
    await ready(hanging);
    const hangingDocs = hanging.of<Versioned>('doc', codec);
    await docs.put([{ id: 'stepped', doc: { value: 'cached', version: 1 } }]);
    relay.hang();
    for (let i = 0; i < 3; i++) await hangingDocs.get(['stepped']);
    relay.resume();
    // Stepping aside now; the wall clock goes an hour back (only it is mocked).
    mock.timers.enable({ apis: ['Date'], now: Date.now() - 3_600_000 });
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    assert.equal((await hangingDocs.get(['stepped'])).get('stepped')?.value, 'cached');
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

/** The database of the reconcile tests: every id at `version`, except those given lower. */
function database(version: number, behind: Map<string, number> = new Map()) {
  const asked: string[] = [];
  const fetch = async (ids: string[]) => {
    asked.push(...ids);
    return ids.map((id) => ({ id, doc: { value: id, version: behind.get(id) ?? version } }));
  };
  return { asked, fetch };
}

const versioned = (ids: string[], version: number) =>
  ids.map((id) => ({ id, doc: { value: id, version } }));

test('one process reconciles a kind an interval, however many share the cache', async () => {
  // A budget past the whole keyspace, whatever else this Redis holds: one pass walks it all.
  const whole = { ...options, reconcileKeysPerPass: Number.MAX_SAFE_INTEGER };
  const [first, second] = [connectCache(whole), connectCache(whole)];
  try {
    await ready(first);
    await ready(second);
    const ids = Array.from({ length: 30 }, (_, i) => `shared-${i}`);
    await first.of<Versioned>('shared', codec).put(versioned(ids, 5));
    const [one, two] = [database(5), database(5)];
    await Promise.all([
      first.of<Versioned>('shared', codec).reconcile(one.fetch),
      second.of<Versioned>('shared', codec).reconcile(two.fetch),
    ]);
    // Every key was read back from the database once, by one of the two.
    assert.deepEqual([...one.asked, ...two.asked].sort(), [...ids].sort());
    assert.ok(one.asked.length === 0 || two.asked.length === 0);
    // Within the interval, nobody walks again.
    const three = database(5);
    await second.of<Versioned>('shared', codec).reconcile(three.fetch);
    assert.deepEqual(three.asked, []);
  } finally {
    await Promise.all([first.close(), second.close()]);
  }
});

test('a pass examines at most its budget of keys, and the next goes on from there', async () => {
  // An interval of 1 ms: each call may walk. 500 keys examined a pass: one SCAN.
  const small = connectCache({ ...options, reconcileEveryMs: 1, reconcileKeysPerPass: 500 });
  try {
    await ready(small);
    const ids = Array.from({ length: 3_000 }, (_, i) => `budget-${i}`);
    const kind = small.of<Versioned>('budget', codec);
    await kind.put(versioned(ids, 5));
    // A restore put one document back to an older version.
    const restored = 'budget-1234';
    // A pass examines 500 of every key in this Redis (SCAN has no other order): a whole walk
    // takes about one pass per 500 of them.
    const redis = new Redis(REDIS_URL);
    const keyspace = await redis.dbsize().finally(() => redis.disconnect());
    const seen = new Set<string>();
    let passes = 0;
    let dropped = 0;
    while (seen.size < ids.length && passes < 2 * Math.ceil(keyspace / 500) + 10) {
      await new Promise((resolve) => setTimeout(resolve, 5)); // past the 1 ms lease
      const pass = database(5, new Map([[restored, 4]]));
      dropped += await kind.reconcile(pass.fetch);
      passes += 1;
      assert.ok(pass.asked.length < ids.length / 2, `one pass read ${pass.asked.length} keys`);
      pass.asked.forEach((id) => seen.add(id));
    }
    // Every key was checked within the passes, the restored one found and dropped.
    assert.equal(seen.size, ids.length);
    assert.ok(passes > 2, `${passes} passes`);
    assert.equal(dropped, 1);
    assert.equal((await kind.get([restored])).size, 0);
  } finally {
    await small.close();
  }
});

test('a tombstone whose row was purged is dropped without counting as a rollback; drop deletes', async () => {
  const whole = connectCache({ ...options, reconcileEveryMs: 1 });
  try {
    await ready(whole);
    interface Post extends Versioned {
      deleted?: boolean;
    }
    const kind = whole.of<Post>('tombstones', {
      ...codec,
      deleted: (post) => post.deleted === true,
    });
    await kind.put([
      { id: 'purged', doc: { value: 'purged', version: 7, deleted: true } },
      { id: 'lost', doc: { value: 'lost', version: 7 } },
      { id: 'kept', doc: { value: 'kept', version: 7 } },
    ]);
    // The database holds only `kept`: `purged` was purged after its tombstone was cached, `lost`
    // was created after the backup a restore put back.
    const fetch = async (ids: string[]) =>
      ids.filter((id) => id === 'kept').map((id) => ({ id, doc: { value: id, version: 7 } }));
    const counted = await kind.reconcile(fetch);
    assert.equal(counted, 1);
    assert.deepEqual([...(await kind.get(['purged', 'lost', 'kept'])).keys()], ['kept']);
    await kind.drop(['kept']);
    assert.equal((await kind.get(['kept'])).size, 0);
  } finally {
    await whole.close();
  }
});
