import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { getIntrospectionQuery } from 'graphql';
import { codes, ok, startStack, type TestStack } from '../helpers/stack.js';
import { until, wsClient } from '../helpers/ws.js';

let stack: TestStack;
before(async () => {
  stack = await startStack();
});
after(() => stack.stop());

/** post { author { posts { edges { node { author { posts ... } } } } } }, `levels` times over. */
function deepQuery(levels: number): string {
  let inner = 'id';
  for (let i = 0; i < levels; i++)
    inner = `author { posts(first: 1) { edges { node { ${inner} } } } }`;
  return `{ post(id: "0000000000000000000000000") { ${inner} } }`;
}

test('a query nested 50 deep is QUERY_TOO_COMPLEX, before any subgraph is asked', async () => {
  const { result, commands } = await stack.record(() => stack.gql(deepQuery(12)));
  assert.equal(result.status, 400);
  assert.deepEqual(codes(result), ['QUERY_TOO_COMPLEX']);
  assert.match(result.errors?.[0]?.message ?? '', /nested \d+ deep/);
  assert.equal(commands.length, 0);
});

test('two thousand aliases are QUERY_TOO_COMPLEX', async () => {
  const aliases = Array.from({ length: 2_000 }, (_, i) => `a${i}: viewer { id }`).join(' ');
  const result = await stack.gql(`{ ${aliases} }`, {}, { as: 'alias-bomber' });
  assert.deepEqual(codes(result), ['QUERY_TOO_COMPLEX']);
});

test('fragments are measured where they are used, without blowing up the measure', async () => {
  const fragments = Array.from(
    { length: 12 },
    (_, i) =>
      `fragment F${i} on User { a: viewerFollows ...F${i + 1} b: followerCount ...F${i + 1} }`,
  )
    .join(' ')
    .replace('...F12', 'id')
    .replace('...F12', 'id');
  const result = await stack.gql(
    `{ viewer { ...F0 } } ${fragments}`,
    {},
    { as: 'fragment-bomber' },
  );
  assert.deepEqual(codes(result), ['QUERY_TOO_COMPLEX']);
});

test('ordinary queries and introspection pass', async () => {
  ok(await stack.gql(deepQuery(2)));
  const introspection = ok(await stack.gql(getIntrospectionQuery()));
  assert.ok(introspection.__schema.types.length > 10);
});

test('subscriptions are held to the same limits', async () => {
  const client = wsClient(stack.gatewayUrl, await stack.token('deep-subscriber'));
  let inner = 'id';
  for (let i = 0; i < 12; i++) inner = `author { posts(first: 1) { edges { node { ${inner} } } } }`;
  const received = client.subscribe(
    `subscription { commentAdded(postId: "0000000000000000000000000") { post { ${inner} } } }`,
  );
  await until('the refusal', () => received.errors !== undefined);
  assert.equal(received.errors?.[0]?.extensions?.code, 'QUERY_TOO_COMPLEX');
  await client.close();
});
