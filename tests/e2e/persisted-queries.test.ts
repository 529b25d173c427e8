import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { startStack, type TestStack } from '../helpers/stack.js';

let stack: TestStack;

before(async () => {
  stack = await startStack();
});

after(async () => {
  await stack.stop();
});

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

async function send(url: string, body: Record<string, unknown>) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return (await response.json()) as {
    data?: Record<string, unknown>;
    errors?: { extensions?: { code?: string } }[];
  };
}

const byHash = (hash: string) => ({
  extensions: { persistedQuery: { version: 1, sha256Hash: hash } },
});

test('a query registered through one gateway process is served by its hash from another', async () => {
  const [first, second] = await Promise.all([stack.spawnGateway(), stack.spawnGateway()]);
  // An alias of its own, so this test's hash is new to Redis.
  const query = `{ q${randomBytes(4).toString('hex')}: post(id: "0000000000000000000000000") { id } }`;
  const hash = sha256(query);

  const unknown = await send(first.url, byHash(hash));
  assert.equal(unknown.errors?.[0]?.extensions?.code, 'PERSISTED_QUERY_NOT_FOUND');

  const registered = await send(first.url, { query, ...byHash(hash) });
  assert.equal(registered.errors, undefined);

  // Apollo Server stores the query without waiting for it; the next lookups may come first.
  let fromOther = await send(second.url, byHash(hash));
  for (let i = 0; i < 20 && fromOther.errors; i++) {
    await delay(50);
    fromOther = await send(second.url, byHash(hash));
  }
  assert.equal(fromOther.errors, undefined);
  assert.deepEqual(fromOther.data, registered.data);

  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  try {
    assert.equal(await redis.get(`${stack.dbPrefix}:apq:${hash}`), query);
    assert.ok((await redis.ttl(`${stack.dbPrefix}:apq:${hash}`)) > 0);
  } finally {
    redis.disconnect();
  }
});

test('an unknown hash is PERSISTED_QUERY_NOT_FOUND, and a hash that does not match its query is refused', async () => {
  const neverSent = await send(stack.gatewayUrl, byHash(sha256(randomBytes(16).toString('hex'))));
  assert.equal(neverSent.errors?.[0]?.extensions?.code, 'PERSISTED_QUERY_NOT_FOUND');

  const mismatch = await send(stack.gatewayUrl, {
    query: '{ __typename }',
    ...byHash(sha256('{ something else }')),
  });
  assert.equal(mismatch.errors?.[0]?.extensions?.code, 'BAD_REQUEST');
});

test('a query past MAX_QUERY_BYTES (padded with comments) is QUERY_TOO_COMPLEX and never registered', async () => {
  const query = `# ${'x'.repeat(900_000)}\n{ __typename }`;
  const hash = sha256(query);
  const refused = await send(stack.gatewayUrl, { query, ...byHash(hash) });
  assert.equal(refused.errors?.[0]?.extensions?.code, 'QUERY_TOO_COMPLEX');
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  try {
    assert.equal(await redis.exists(`${stack.dbPrefix}:apq:${hash}`), 0);
  } finally {
    redis.disconnect();
  }
  const lookup = await send(stack.gatewayUrl, byHash(hash));
  assert.equal(lookup.errors?.[0]?.extensions?.code, 'PERSISTED_QUERY_NOT_FOUND');
});
