import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import {
  ApolloClient,
  ApolloLink,
  gql,
  HttpLink,
  InMemoryCache,
  type ObservableQuery,
} from '@apollo/client';
import { Defer20220824Handler } from '@apollo/client/incremental';
import { ok, startStack, type TestStack } from '../helpers/stack.js';
import { createPost, uid } from './support.js';

/**
 * `@defer` through the gateway: the feed query of the API contract with its counts and comments
 * deferred, over raw HTTP (the multipart framing) and with Apollo Client.
 */
let stack: TestStack;
let viewer: string;
const posts: string[] = [];

before(async () => {
  stack = await startStack();
  viewer = uid('defer');
  for (const caption of ['one', 'two', 'three'])
    posts.push((await createPost(stack, viewer, { caption })).id);
  for (const body of ['first!', 'second'])
    ok(
      await stack.gql(
        'mutation($id: ID!, $body: String!) { addComment(postId: $id, body: $body) { id } }',
        { id: posts[0], body },
        { as: viewer },
      ),
    );
  ok(
    await stack.gql(
      'mutation($id: ID!) { likePost(postId: $id) { likeCount } }',
      { id: posts[1] },
      { as: viewer },
    ),
  );
});

after(async () => {
  await Promise.all(proxies.map((proxy) => new Promise((resolve) => proxy.close(resolve))));
  await stack.stop();
});

const COUNTS_AND_COMMENTS = `likeCount viewerHasLiked commentCount
  comments(first: 2) { edges { node { id body author { id } } } }`;

const FEED = `query Feed {
  feed(first: 10) {
    edges { node { id caption author { id } ${COUNTS_AND_COMMENTS} } }
  }
}`;

const DEFERRED_FEED = `query Feed {
  feed(first: 10) {
    edges { node { id caption author { id } ... @defer(label: "social") { ${COUNTS_AND_COMMENTS} } } }
  }
}`;

const MULTIPART = 'multipart/mixed;deferSpec=20220824, application/json';

interface Part {
  data?: Record<string, any> | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: { code?: string } }[];
  incremental?: {
    data: Record<string, any> | null;
    path: (string | number)[];
    label?: string;
    errors?: Part['errors'];
  }[];
  hasNext: boolean;
}

async function post(
  query: string,
  options: { accept?: string; token?: string | null; url?: string } = {},
): Promise<Response> {
  const token = options.token === undefined ? await stack.token(viewer) : options.token;
  return fetch(options.url ?? stack.gatewayUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(options.accept ? { accept: options.accept } : {}),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query }),
  });
}

/**
 * The parts of a multipart body as they arrive; `onPart` may wait before the next is read.
 * Returns the raw text too, to check the framing byte for byte.
 */
async function readParts(
  response: Response,
  onPart: (part: Part, index: number) => Promise<void> | void = () => undefined,
): Promise<{ parts: Part[]; text: string }> {
  assert.ok(response.body);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  const parts: Part[] = [];
  let text = '';
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
    buffer += value;
    // A part is complete once the delimiter after it has arrived.
    for (;;) {
      const start = buffer.indexOf('\r\n\r\n');
      const end = buffer.indexOf('\r\n--graphql', start);
      if (start < 0 || end < 0) break;
      const part = JSON.parse(buffer.slice(start + 4, end)) as Part;
      buffer = buffer.slice(end + '\r\n--graphql'.length);
      parts.push(part);
      await onPart(part, parts.length - 1);
    }
  }
  return { parts, text };
}

/** The client's view: the first part's data with every incremental item merged at its path. */
function assemble(parts: Part[]): Record<string, any> {
  const data = structuredClone(parts[0]?.data ?? {}) as Record<string, any>;
  const merge = (target: Record<string, any>, source: Record<string, any>) => {
    for (const [key, value] of Object.entries(source)) {
      if (value && typeof value === 'object' && target[key] && typeof target[key] === 'object')
        merge(target[key], value);
      else target[key] = value;
    }
  };
  for (const part of parts.slice(1))
    for (const item of part.incremental ?? []) {
      let target: any = data;
      for (const key of item.path) target = target[key];
      if (item.data) merge(target, item.data);
    }
  return data;
}

test('the feed with counts and comments deferred: framing, first part, then one item per post', async () => {
  const whole = ok(await stack.gql(FEED, {}, { as: viewer }));
  const response = await post(DEFERRED_FEED, { accept: MULTIPART });
  assert.equal(response.status, 200);
  assert.equal(
    response.headers.get('content-type'),
    'multipart/mixed; boundary="graphql"; deferSpec=20220824',
  );
  const { parts, text } = await readParts(response);
  assert.ok(
    text.startsWith('\r\n--graphql\r\ncontent-type: application/json; charset=utf-8\r\n\r\n'),
  );
  assert.ok(text.endsWith('\r\n--graphql--\r\n'));
  assert.equal(
    text.split('content-type: application/json; charset=utf-8\r\n\r\n').length - 1,
    parts.length,
  );

  const [first, ...rest] = parts;
  assert.equal(first?.hasNext, true);
  assert.equal(first?.errors, undefined);
  const edges = first?.data?.feed.edges as { node: Record<string, unknown> }[];
  assert.equal(edges.length, 3);
  for (const { node } of edges) {
    assert.deepEqual(Object.keys(node).sort(), ['author', 'caption', 'id']);
  }
  assert.ok(rest.length >= 1);
  assert.equal(rest.at(-1)?.hasNext, false);
  assert.ok(rest.slice(0, -1).every((part) => part.hasNext));
  const items = rest.flatMap((part) => part.incremental ?? []);
  assert.deepEqual(
    items.map((item) => item.path).sort(),
    edges.map((_edge, index) => ['feed', 'edges', index, 'node']),
  );
  for (const item of items) {
    assert.equal(item.label, 'social');
    assert.equal(item.errors, undefined);
    assert.deepEqual(Object.keys(item.data ?? {}).sort(), [
      'commentCount',
      'comments',
      'likeCount',
      'viewerHasLiked',
    ]);
  }
  assert.deepEqual(assemble(parts), whole);
});

test('a client that does not accept multipart gets the whole result at once, as JSON', async () => {
  const whole = ok(await stack.gql(FEED, {}, { as: viewer }));
  for (const accept of [
    undefined,
    'application/json',
    'multipart/mixed;subscriptionSpec=1.0, application/json',
  ]) {
    const response = await post(DEFERRED_FEED, { accept });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
    const body = (await response.json()) as { data: unknown; errors?: unknown };
    assert.equal(body.errors, undefined);
    assert.deepEqual(body.data, whole);
  }
  // Multipart alone: Apollo Server refuses to send the first part as JSON, and that stands.
  const multipartOnly = await post(DEFERRED_FEED, { accept: 'multipart/mixed;deferSpec=20220824' });
  assert.equal(multipartOnly.status, 406);
  assert.match(multipartOnly.headers.get('content-type') ?? '', /^application\/json/);
  assert.ok(((await multipartOnly.json()) as Part).errors?.length);

  // `onError` other than PROPAGATE shapes the whole result: it comes at once too.
  const response = await fetch(stack.gatewayUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: MULTIPART,
      authorization: `Bearer ${await stack.token(viewer)}`,
    },
    body: JSON.stringify({ query: DEFERRED_FEED, onError: 'NULL' }),
  });
  assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
  assert.deepEqual(await response.json(), { data: whole });
});

test('a persisted deferred query, sent by its hash alone, is answered in parts too', async () => {
  const sha256Hash = createHash('sha256').update(DEFERRED_FEED).digest('hex');
  const send = async (withQuery: boolean) =>
    fetch(stack.gatewayUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: MULTIPART,
        authorization: `Bearer ${await stack.token(viewer)}`,
      },
      body: JSON.stringify({
        ...(withQuery ? { query: DEFERRED_FEED } : {}),
        extensions: { persistedQuery: { version: 1, sha256Hash } },
      }),
    });
  const unknown = (await (await send(false)).json()) as Part;
  assert.equal(unknown.errors?.[0]?.extensions?.code, 'PERSISTED_QUERY_NOT_FOUND');
  for (const withQuery of [true, false]) {
    const { parts } = await readParts(await send(withQuery));
    assert.equal(parts[0]?.hasNext, true);
    assert.deepEqual(assemble(parts), ok(await stack.gql(FEED, {}, { as: viewer })));
  }
});

test('nested defers and labels arrive in order; @defer(if: false) answers at once', async () => {
  const id = posts[0] as string;
  const nested = `query { post(id: "${id}") { id
    ... @defer(label: "outer") { likeCount author { id } ... @defer(label: "inner") { commentCount } } } }`;
  const { parts } = await readParts(await post(nested, { accept: MULTIPART }));
  assert.deepEqual(parts[0], { data: { post: { id } }, hasNext: true });
  assert.deepEqual(parts.slice(1), [
    {
      incremental: [
        { data: { likeCount: 0, author: { id: viewer } }, path: ['post'], label: 'outer' },
      ],
      hasNext: true,
    },
    {
      incremental: [{ data: { commentCount: 2 }, path: ['post'], label: 'inner' }],
      hasNext: false,
    },
  ]);

  // A selection that is all deferred leaves an empty object in the first part.
  const allDeferred = `query { post(id: "${id}") { ... @defer { commentCount } } }`;
  const { parts: allParts } = await readParts(await post(allDeferred, { accept: MULTIPART }));
  assert.deepEqual(allParts, [
    { data: { post: {} }, hasNext: true },
    { incremental: [{ data: { commentCount: 2 }, path: ['post'] }], hasNext: false },
  ]);

  // Deferred at the root, and through a named fragment.
  const atRoot = `query { viewer { id } ... @defer { post(id: "${id}") { ...Counts @defer(label: "counts") } } }
    fragment Counts on Post { commentCount }`;
  const { parts: rootParts } = await readParts(await post(atRoot, { accept: MULTIPART }));
  assert.deepEqual(rootParts, [
    { data: { viewer: { id: viewer } }, hasNext: true },
    { incremental: [{ data: { post: {} }, path: [] }], hasNext: true },
    {
      incremental: [{ data: { commentCount: 2 }, path: ['post'], label: 'counts' }],
      hasNext: false,
    },
  ]);

  // A named fragment that is all deferred: nothing of it in the first part, all of it after.
  const viaFragment = `query { post(id: "${id}") { id ...Later } }
    fragment Later on Post { ... @defer { commentCount } }`;
  const { parts: fragmentParts } = await readParts(await post(viaFragment, { accept: MULTIPART }));
  assert.deepEqual(fragmentParts, [
    { data: { post: { id } }, hasNext: true },
    { incremental: [{ data: { commentCount: 2 }, path: ['post'] }], hasNext: false },
  ]);

  const off = `query { post(id: "${id}") { id ... @defer(if: false) { commentCount } } }`;
  const response = await post(off, { accept: MULTIPART });
  assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
  assert.deepEqual(await response.json(), { data: { post: { id, commentCount: 2 } } });
});

test('limits and authentication hold for deferred operations, before anything is sent', async () => {
  const forged = await post(DEFERRED_FEED, { accept: MULTIPART, token: 'not.a.token' });
  assert.equal(forged.status, 401);
  assert.match(forged.headers.get('content-type') ?? '', /^application\/json/);
  // `feed` needs a viewer: the first part's data is null, so nothing can follow and the answer
  // is a single JSON result.
  const anonymous = await post(DEFERRED_FEED, { accept: MULTIPART, token: null });
  assert.match(anonymous.headers.get('content-type') ?? '', /^application\/json/);
  const refused = (await anonymous.json()) as Part;
  assert.equal(refused.data, null);
  assert.deepEqual(
    refused.errors?.map((error) => error.extensions?.code),
    ['UNAUTHENTICATED'],
  );

  let deep = 'id';
  for (let i = 0; i < 4; i++) deep = `author { posts(first: 1) { edges { node { ${deep} } } } }`;
  const tooDeep = await post(`query { post(id: "${posts[0]}") { ... @defer { ${deep} } } }`, {
    accept: MULTIPART,
  });
  assert.equal(tooDeep.status, 400);
  const body = (await tooDeep.json()) as Part;
  assert.equal(body.errors?.[0]?.extensions?.code, 'QUERY_TOO_COMPLEX');

  // A label names its part: one from a variable, or one used twice, could not tell parts apart.
  for (const [query, message] of [
    [
      `query($l: String) { post(id: "${posts[0]}") { id ... @defer(label: $l) { likeCount } } }`,
      /literal string/,
    ],
    [
      `{ post(id: "${posts[0]}") { id ... @defer(label: "a") { likeCount } ... @defer(label: "a") { commentCount } } }`,
      /"a" is used more than once/,
    ],
  ] as const) {
    const answer = await post(query, { accept: MULTIPART });
    assert.equal(answer.status, 400);
    const refusal = (await answer.json()) as Part;
    assert.deepEqual(
      refusal.errors?.map((error) => error.extensions?.code),
      ['GRAPHQL_VALIDATION_FAILED'],
    );
    assert.match(refusal.errors?.[0]?.message ?? '', message);
  }
});

/** Proxies in front of a subgraph, holding or failing its requests: a slow or a broken subgraph. */
const proxies: Server[] = [];
type Verdict = 'pass' | 'fail' | 'leak';
async function proxyTo(target: string, hold: () => Promise<Verdict>): Promise<string> {
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const verdict = await hold();
    if (verdict === 'fail') {
      res.writeHead(503).end('down');
      return;
    }
    if (verdict === 'leak') {
      // A subgraph error that is no client's business: masked like any other.
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ data: null, errors: [{ message: 'MongoServerError: secret' }] }));
      return;
    }
    const upstream = await fetch(target, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: req.headers.authorization ?? '',
      },
      body: Buffer.concat(chunks),
    });
    res.writeHead(upstream.status, { 'content-type': 'application/json' });
    res.end(await upstream.text());
  });
  proxies.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
}

test('the first part leaves while the deferred fetches are held; a failing block reports in its own part', async () => {
  let open!: (verdict: Verdict) => void;
  let gate = new Promise<Verdict>((resolve) => (open = resolve));
  let held = 0;
  const hold = () => {
    held += 1;
    return gate;
  };
  const gateway = await stack.spawnGateway({
    // The failing case logs each unavailable subgraph as a warning, as it should.
    LOG_LEVEL: 'error',
    LIKES_URL: await proxyTo(stack.urls.likes, hold),
    COMMENTS_URL: await proxyTo(stack.urls.comments, hold),
  });

  const response = await post(DEFERRED_FEED, { accept: MULTIPART, url: gateway.url });
  const { parts } = await readParts(response, async (part, index) => {
    if (index !== 0) return;
    // The first part is here, and the likes and comments fetches wait at the proxies until the
    // gate opens: they cannot have answered.
    assert.equal(part.hasNext, true);
    assert.equal((part.data?.feed.edges as unknown[]).length, 3);
    const deadline = Date.now() + 5_000;
    while (held < 2 && Date.now() < deadline) await delay(10);
    assert.equal(held, 2, 'both deferred fetches are held');
    open('pass');
  });
  assert.equal(parts.at(-1)?.hasNext, false);
  assert.deepEqual(assemble(parts), ok(await stack.gql(FEED, {}, { as: viewer })));

  gate = Promise.resolve('fail');
  const failing = await readParts(
    await post(DEFERRED_FEED, { accept: MULTIPART, url: gateway.url }),
  );
  const [first, ...rest] = failing.parts;
  assert.equal(first?.errors, undefined);
  assert.equal((first?.data?.feed.edges as unknown[]).length, 3);
  const items = rest.flatMap((part) => part.incremental ?? []);
  const errors = items.flatMap((item) => item.errors ?? []);
  assert.ok(errors.length > 0);
  assert.ok(errors.every((error) => error.extensions?.code === 'SUBGRAPH_UNAVAILABLE'));
  assert.ok(errors.every((error) => !/ECONNREFUSED|503|stack/i.test(JSON.stringify(error))));

  gate = Promise.resolve('leak');
  const leaking = await readParts(
    await post(DEFERRED_FEED, { accept: MULTIPART, url: gateway.url }),
  );
  const masked = leaking.parts.flatMap((part) =>
    (part.incremental ?? []).flatMap((item) => item.errors ?? []),
  );
  assert.ok(masked.length > 0);
  for (const error of masked) {
    assert.equal(error.message, 'Internal server error');
    assert.equal(error.extensions?.code, 'INTERNAL_SERVER_ERROR');
  }
  assert.ok(!JSON.stringify(leaking.parts).includes('secret'));
});

test('a deferred operation spends the rate-limit budget like any other', async () => {
  const gateway = await stack.spawnGateway({ RATE_LIMIT_USER_PER_MINUTE: '2' });
  const token = await stack.token(uid('limited'));
  const answers: Response[] = [];
  for (let i = 0; i < 3; i++)
    answers.push(await post(DEFERRED_FEED, { accept: MULTIPART, url: gateway.url, token }));
  for (const answer of answers.slice(0, 2)) {
    assert.match(answer.headers.get('content-type') ?? '', /^multipart\/mixed/);
    const { parts } = await readParts(answer);
    assert.equal(parts.at(-1)?.hasNext, false);
  }
  const limited = answers[2] as Response;
  assert.equal(limited.status, 429);
  const body = (await limited.json()) as Part;
  assert.equal(body.errors?.[0]?.extensions?.code, 'RATE_LIMITED');
});

test('Apollo Client renders the posts first, then the deferred counts and comments', async () => {
  const token = await stack.token(viewer);
  const client = new ApolloClient({
    link: ApolloLink.from([
      new HttpLink({ uri: stack.gatewayUrl, headers: { authorization: `Bearer ${token}` } }),
    ]),
    cache: new InMemoryCache(),
    incrementalHandler: new Defer20220824Handler(),
  });
  const query = gql(DEFERRED_FEED);
  const observable: ObservableQuery = client.watchQuery({ query, fetchPolicy: 'network-only' });
  const seen: { dataState: string; data: any }[] = [];
  await new Promise<void>((resolve, reject) => {
    const subscription = observable.subscribe({
      next(result) {
        if (result.dataState === 'empty') return;
        seen.push({ dataState: result.dataState, data: result.data });
        if (result.dataState === 'complete') {
          subscription.unsubscribe();
          resolve();
        }
      },
      error: reject,
    });
  });
  client.stop();
  const streaming = seen.find((result) => result.dataState === 'streaming');
  assert.ok(streaming, `saw ${seen.map((result) => result.dataState).join(', ')}`);
  assert.equal(streaming.data.feed.edges.length, 3);
  assert.equal(streaming.data.feed.edges[0].node.commentCount, undefined);
  const complete = seen.at(-1)?.data;
  const byId = new Map(complete.feed.edges.map((edge: any) => [edge.node.id, edge.node]));
  assert.equal((byId.get(posts[0]) as any).commentCount, 2);
  assert.deepEqual(
    (byId.get(posts[0]) as any).comments.edges.map((edge: any) => edge.node.body),
    ['first!', 'second'],
  );
  assert.equal((byId.get(posts[1]) as any).likeCount, 1);
  assert.equal((byId.get(posts[1]) as any).viewerHasLiked, true);
});
