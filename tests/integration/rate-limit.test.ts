import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, test } from 'node:test';
import { Redis } from 'ioredis';
import { createRateLimiter, type RateLimits } from '../../gateway/rate-limit.js';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
after(() => redis.quit());

/** Two replicas' limiters over the same budgets, as two gateway processes have them. */
function replicas(limits: RateLimits) {
  const prefix = `t${randomBytes(4).toString('hex')}`;
  const connections = [redis.duplicate(), redis.duplicate()];
  after(() => Promise.all(connections.map((connection) => connection.quit())));
  return {
    taken: async (budget: string, id: string) =>
      Number(await redis.get(`${prefix}:rate:${budget}:${id}`)),
    limiters: connections.map((connection) => createRateLimiter(connection, prefix, limits)),
    ready: () =>
      Promise.all(
        connections.map(
          (connection) =>
            connection.status === 'ready' ||
            new Promise((resolve) => connection.once('ready', resolve)),
        ),
      ),
  };
}

const unlimited = { perIpPerMinute: 1_000_000, perUserPerMinute: 1_000_000 };

test('an operation well within budget spends from a lease: one Redis command per lease, not per operation', async () => {
  const { limiters, ready, taken } = replicas({ ...unlimited, mutationsPerUserPerMinute: 60 });
  await ready();
  const [limiter] = limiters as [(typeof limiters)[0]];
  for (let i = 0; i < 100; i++) {
    assert.equal(await limiter({ ip: '10.0.0.1', userId: 'u1', mutation: false }), 0);
  }
  // Two leases of 64 points each cover 100 operations.
  assert.equal(await taken('ip', '10.0.0.1'), 128);
  assert.equal(await taken('user', 'u1'), 128);
});

test('operations that need a lease at once share one command', async () => {
  const { limiters, ready, taken } = replicas({ ...unlimited, mutationsPerUserPerMinute: 60 });
  await ready();
  const [limiter] = limiters as [(typeof limiters)[0]];
  const answers = await Promise.all(
    Array.from({ length: 50 }, () => limiter({ ip: '10.0.0.2', userId: 'u2', mutation: false })),
  );
  assert.deepEqual(new Set(answers), new Set([0]));
  assert.equal(await taken('user', 'u2'), 64);
});

test('leases across replicas admit exactly the budget, whichever replica a caller reaches', async () => {
  // 320 points: leases of 20, shrinking to 1 near the end.
  const limits = { perIpPerMinute: 1_000_000, perUserPerMinute: 320, mutationsPerUserPerMinute: 1 };
  const { limiters, ready, taken } = replicas(limits);
  await ready();
  const [first, second] = limiters as [(typeof limiters)[0], (typeof limiters)[0]];
  let admitted = 0;
  // Alternating in runs, so that each replica holds part of a lease while the other spends.
  for (let i = 0; i < 400; i++) {
    const limiter = Math.floor(i / 7) % 2 === 0 ? first : second;
    if ((await limiter({ ip: '10.0.0.3', userId: 'u3', mutation: false })) === 0) admitted++;
  }
  // Whatever one replica still held, the other could not spend: drain both.
  for (const limiter of [first, second]) {
    for (let i = 0; i < 400; i++) {
      if ((await limiter({ ip: '10.0.0.3', userId: 'u3', mutation: false })) === 0) admitted++;
    }
  }
  assert.equal(admitted, 320);
  assert.ok((await taken('user', 'u3')) >= 320);
  // Refused on both, with the window's time left.
  for (const limiter of [first, second]) {
    const seconds = await limiter({ ip: '10.0.0.3', userId: 'u3', mutation: false });
    assert.ok(seconds >= 1 && seconds <= 60, `Retry-After ${seconds}`);
  }
});

test('a spent budget refuses, and the budgets before it stay spent while the ones after it do not', async () => {
  const limits = { perIpPerMinute: 1_000_000, perUserPerMinute: 2, mutationsPerUserPerMinute: 10 };
  const { limiters, ready, taken } = replicas(limits);
  await ready();
  const [limiter] = limiters as [(typeof limiters)[0]];
  assert.equal(await limiter({ ip: '10.0.0.4', userId: 'u4', mutation: true }), 0);
  assert.equal(await limiter({ ip: '10.0.0.4', userId: 'u4', mutation: true }), 0);
  assert.ok((await limiter({ ip: '10.0.0.4', userId: 'u4', mutation: true })) > 0);
  // The refused operation took no mutation point: the two admitted ones did.
  assert.equal(await taken('mutation', 'u4'), 2);
  // Another user behind the same address is not refused.
  assert.equal(await limiter({ ip: '10.0.0.4', userId: 'u5', mutation: true }), 0);
});
