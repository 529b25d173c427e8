import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ensureRedis, freePort } from '../../scripts/stack/services.js';
import { ok, startStack, type TestStack } from '../helpers/stack.js';
import { readiness, uid } from './support.js';

let stack: TestStack;
let redisUrl: string;
let redis: Awaited<ReturnType<typeof ensureRedis>>;

before(async () => {
  // A Redis of this file's own: the shared one is never stopped.
  redisUrl = `redis://127.0.0.1:${await freePort()}`;
  redis = await ensureRedis(redisUrl);
  stack = await startStack({ engine: 'nats', redisUrl });
});

after(async () => {
  // Undefined when `before` failed: its own Redis must still go, or the file never exits.
  await stack?.stop();
  await redis?.stop();
});

test('gateway readiness is 503 while the rate limits’ Redis is away and 200 once it is back; requests are served throughout', async () => {
  const viewer = uid('redis');
  const query = () => stack.gql('{ user(id: "nobody") { id } }', {}, { as: viewer });
  assert.equal(await readiness(stack.gatewayUrl, 200), 200);

  await redis.stop();
  assert.equal(await readiness(stack.gatewayUrl, 503), 503);
  // Budgets fall back to memory in the meantime: the gateway still answers.
  assert.deepEqual(ok(await query()), { user: null });

  redis = await ensureRedis(redisUrl);
  assert.equal(await readiness(stack.gatewayUrl, 200), 200);
  assert.deepEqual(ok(await query()), { user: null });
});
