import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { getIntrospectionQuery } from 'graphql';
import { STANDARD_INTROSPECTION } from '../helpers/introspection.js';
import { codes, ok, startStack, type TestStack } from '../helpers/stack.js';
import { closeCodeFor, until, wsClient } from '../helpers/ws.js';
import { createPost } from './support.js';

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
  const { result, commands } = await stack.recordQuery(() => stack.gql(deepQuery(12)));
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
  // What `rover subgraph introspect` sends.
  ok(
    await stack.gql(
      'query SubgraphIntrospectQuery { _service { sdl } }',
      {},
      { url: stack.urls.feed },
    ),
  );
});

test('a malformed entity representation sent straight to a subgraph is BAD_USER_INPUT', async () => {
  const entities = `query E($r: [_Any!]!) { _entities(representations: $r) { __typename } }`;
  const malformed: unknown[] = [
    {},
    'Post',
    [{ __typename: 'Post', id: 'x' }],
    { __typename: 'Nope', id: 'x' },
    { __typename: '__proto__', id: 'x' },
    { __typename: 'Query', id: 'x' },
    { __typename: 'Post', id: { $gt: '' } },
    { __typename: 'Post', id: ['x'] },
    { __typename: 'Post', id: null },
    { __typename: 'Post' },
  ];
  // In feed, `username` is a key of User too: given beside a complete key, it must be text.
  const feedOnly = [
    { __typename: 'User', id: 'bob', username: { $ne: null } },
    { __typename: 'User', id: 'bob', username: 7 },
  ];
  for (const [name, url] of Object.entries(stack.urls)) {
    for (const representation of [...malformed, ...(name === 'feed' ? feedOnly : [])]) {
      const result = await stack.gql(entities, { r: [representation] }, { url });
      assert.deepEqual(
        codes(result),
        ['BAD_USER_INPUT'],
        `${name}: ${JSON.stringify(representation)}`,
      );
    }
    // An id of arrays nested 100,000 deep overflowed the stack of the code that read it.
    const deep = `{"query":${JSON.stringify(entities)},"variables":{"r":[{"__typename":"Post","id":${'['.repeat(100_000)}"x"${']'.repeat(100_000)}}]}}`;
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: deep,
    });
    const body = (await response.json()) as { errors?: { extensions?: { code?: string } }[] };
    assert.deepEqual(
      body.errors?.map((error) => error.extensions?.code),
      ['BAD_USER_INPUT'],
      name,
    );
  }
  // Well-formed representations still resolve: a post by id, a user by either of its keys.
  const good = await stack.gql(
    entities,
    {
      r: [
        { __typename: 'Post', id: '0000000000000000000000000' },
        { __typename: 'User', username: 'nobody' },
      ],
    },
    { url: stack.urls.feed },
  );
  assert.equal(good.errors, undefined);
});

test('an answer past MAX_RESPONSE_BYTES is replaced by QUERY_TOO_COMPLEX, at the gateway and in a subgraph', async () => {
  // Aliases allowed, so that one post's likes make a large answer from the likes subgraph.
  const small = { MAX_RESPONSE_BYTES: '10000', MAX_QUERY_ALIASES: '1000' };
  const likes = await stack.spawnSubgraph('likes', small);
  const gateway = await stack.spawnGateway({ ...small, LIKES_URL: likes.url });
  for (const url of [gateway.url, likes.url]) {
    const result = await stack.gql(STANDARD_INTROSPECTION, {}, { url });
    assert.deepEqual(codes(result), ['QUERY_TOO_COMPLEX'], url);
    assert.match(result.errors?.[0]?.message ?? '', /more than 10000/);
    assert.equal(result.data, null);
    ok(await stack.gql('{ __typename }', {}, { url }));
  }
  // The subgraph's refusal reaches the client through the gateway, code and all.
  const { id } = await createPost(stack, 'big-answer');
  const pages = Array.from(
    { length: 300 },
    (_, i) => `a${i}: likes(first: 100) { pageInfo { hasNextPage endCursor } }`,
  ).join(' ');
  const result = await stack.gql(`{ post(id: "${id}") { id ${pages} } }`, {}, { url: gateway.url });
  assert.ok(codes(result).includes('QUERY_TOO_COMPLEX'), JSON.stringify(result.errors));
  assert.notEqual(result.status, 500);
});

test('a WebSocket message larger than twice MAX_QUERY_BYTES closes the socket (1009), unread', async () => {
  const { code, acked } = await closeCodeFor(stack.gatewayUrl, {
    authorization: `Bearer ${await stack.token('big-sender')}`,
    padding: 'x'.repeat(5_000_000),
  });
  assert.equal(code, 1009);
  assert.equal(acked, false);
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
  // Refused before Apollo parses it, the text's size: the same error shape as any other.
  const long = client.subscribe(`query { ${'viewer { id } '.repeat(4_000)} }`);
  await until('the refusal', () => long.errors !== undefined);
  assert.deepEqual(long.errors?.[0]?.extensions, { code: 'QUERY_TOO_COMPLEX' });
  await client.close();
});

/** The resident memory of a process, from /proc (Linux), in bytes. */
async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1_024;
}

test('hostile requests of every shape raise a gateway process’s RSS by less than 100 MB, and never get a 500', async (t) => {
  const gateway = await stack.spawnGateway();
  const pid = gateway.process.pid as number;
  const post = async (body: unknown) => {
    const response = await fetch(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    await response.arrayBuffer();
    return response.status;
  };
  // Warm: the first introspection and query load code and fill caches that stay.
  for (let i = 0; i < 3; i++) {
    await post({ query: STANDARD_INTROSPECTION });
    await post({ query: deepQuery(2) });
  }
  const baseline = await rssOf(pid);
  let peak = baseline;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peak = Math.max(peak, await rssOf(pid));
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  const padding = `# ${'x'.repeat(900_000)}\n`;
  const shapes: Record<string, unknown> = {
    'aliases of __schema (20,000)': { query: aliasedSchemas(20_000) },
    'aliases of __schema (300)': { query: aliasedSchemas(300) },
    'aliases of __schema (10)': { query: aliasedSchemas(10) },
    'introspection (allowed)': { query: STANDARD_INTROSPECTION },
    'nested 2,000 deep': { query: `{ ${'viewer { '.repeat(2_000)}id${' }'.repeat(2_000)} }` },
    'padded with comments': { query: `${padding}{ __typename }` },
    'padded persisted query': {
      query: `${padding}{ __typename }`,
      extensions: {
        persistedQuery: {
          version: 1,
          sha256Hash: createHash('sha256').update(`${padding}{ __typename }`).digest('hex'),
        },
      },
    },
    'a page of a page of pages': {
      query: `{ feed(first: 100) { edges { node { comments(first: 100) { edges { node { author { posts(first: 100) { edges { node { id } } } } } } } } } } }`,
    },
  };
  const statuses: Record<string, number[]> = {};
  for (const [name, body] of Object.entries(shapes)) {
    statuses[name] = await Promise.all(Array.from({ length: 4 }, () => post(body)));
  }
  sampling = false;
  await sampler;
  const grown = peak - baseline;
  t.diagnostic(
    `RSS baseline ${Math.round(baseline / 1_048_576)} MB, peak ${Math.round(peak / 1_048_576)} MB`,
  );
  assert.ok(grown < 100 * 1_024 * 1_024, `RSS grew by ${Math.round(grown / 1_048_576)} MB`);
  for (const [name, got] of Object.entries(statuses)) {
    for (const status of got) assert.ok(status < 500, `${name}: HTTP ${status}`);
  }
  assert.equal(gateway.process.exitCode, null, 'the gateway is still running');
});
