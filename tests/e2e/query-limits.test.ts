import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { getIntrospectionQuery } from 'graphql';
import { STANDARD_INTROSPECTION } from '../helpers/introspection.js';
import { codes, ok, startStack, type TestStack } from '../helpers/stack.js';
import { until, wsClient } from '../helpers/ws.js';

/** `count` aliases of the standard introspection's whole `__schema` selection, as one fragment. */
function aliasedSchemas(count: number): string {
  const fragments = STANDARD_INTROSPECTION.slice(STANDARD_INTROSPECTION.indexOf('fragment'));
  const schema = /__schema \{([\s\S]*?)\}\s*\}\s*fragment/.exec(STANDARD_INTROSPECTION)?.[1];
  const aliases = Array.from({ length: count }, (_, i) => `a${i}:__schema{...S}`).join(' ');
  return `{ ${aliases} } fragment S on __Schema { ${schema} } ${fragments}`;
}

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

test('ordinary queries and the introspection queries of tools (every option codegen sets) pass', async () => {
  ok(await stack.gql(deepQuery(2)));
  for (const query of [getIntrospectionQuery(), STANDARD_INTROSPECTION]) {
    const introspection = ok(await stack.gql(query));
    assert.ok(introspection.__schema.types.length > 10);
  }
});

test('introspection is held to the same limits: aliases of a full __schema selection are refused', async () => {
  for (const count of [20_000, 300, 10]) {
    const result = await stack.gql(aliasedSchemas(count));
    assert.equal(result.status, 400, `${count} aliases`);
    assert.deepEqual(codes(result), ['QUERY_TOO_COMPLEX'], `${count} aliases`);
  }
});

test('subgraphs reached directly, without a token, apply the limits too', async () => {
  const refused = async (query: string, variables?: Record<string, unknown>) => {
    const result = await stack.gql(query, variables, { url: stack.urls.feed });
    assert.deepEqual(codes(result), ['QUERY_TOO_COMPLEX'], query.slice(0, 60));
    assert.equal(result.status, 400);
  };
  await refused(`{ ${Array.from({ length: 3_000 }, (_, i) => `a${i}: __typename`).join(' ')} }`);
  await refused(deepQuery(18));
  await refused(aliasedSchemas(20));
  const entities = `query E($r: [_Any!]!) { _entities(representations: $r) { ... on Post { id } } }`;
  const representations = (n: number) =>
    Array.from({ length: n }, (_, i) => ({ __typename: 'Post', id: `p${i}` }));
  await refused(entities, { r: representations(5_000) });
  // A home-feed page of the largest size is a batch well under the cap.
  const page = await stack.gql(entities, { r: representations(100) }, { url: stack.urls.feed });
  assert.equal(page.errors, undefined);
  ok(await stack.gql(STANDARD_INTROSPECTION, {}, { url: stack.urls.feed }));
});

test('an answer past MAX_RESPONSE_BYTES is replaced by QUERY_TOO_COMPLEX, at the gateway and in a subgraph', async () => {
  const small = { MAX_RESPONSE_BYTES: '10000' };
  const [gateway, likes] = await Promise.all([
    stack.spawnGateway(small),
    stack.spawnSubgraph('likes', small),
  ]);
  for (const url of [gateway.url, likes.url]) {
    const result = await stack.gql(STANDARD_INTROSPECTION, {}, { url });
    assert.deepEqual(codes(result), ['QUERY_TOO_COMPLEX'], url);
    assert.match(result.errors?.[0]?.message ?? '', /more than 10000/);
    assert.equal(result.data, null);
    ok(await stack.gql('{ __typename }', {}, { url }));
  }
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
