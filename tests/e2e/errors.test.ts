import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { SignJWT } from 'jose';
import { DEV_JWT_SECRET, signDevToken } from '../../platform/auth.js';
import { shardOfUser, newId } from '../../platform/ids.js';
import { ok, startStack, type GraphQLResult, type TestStack } from '../helpers/stack.js';
import {
  assertClean,
  assertError,
  createPost,
  PHOTO,
  uid,
  unboundedTokens,
  unknownPostId,
} from './support.js';

let stack: TestStack;

before(async () => {
  stack = await startStack();
});

after(async () => {
  await stack?.stop();
});

interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
  body:
    | { data?: any; errors?: { message: string; extensions?: Record<string, unknown> }[] }
    | undefined;
}

async function raw(
  url: string,
  init: RequestInit & { duplex?: 'half' } = {},
): Promise<RawResponse> {
  const response = await fetch(url, init);
  const text = await response.text();
  let body: RawResponse['body'];
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, headers: response.headers, text, body };
}

function post(
  url: string,
  payload: unknown,
  headers: Record<string, string> = {},
): Promise<RawResponse> {
  return raw(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof payload === 'string' ? payload : JSON.stringify(payload),
  });
}

/** Nothing in the raw response looks like a stack trace or an internal. */
function assertNoInternals(response: RawResponse, what: string): void {
  assert.notEqual(response.status, 500, `${what}: HTTP 500: ${response.text.slice(0, 300)}`);
  assert.doesNotMatch(
    response.text,
    /stacktrace|\bat \/|node_modules|node:internal|\.js:\d+/,
    `${what}: ${response.text.slice(0, 300)}`,
  );
}

function assertCodes(response: RawResponse, code: string, what: string): void {
  assert.ok(
    response.body,
    `${what}: not JSON (${response.status}): ${response.text.slice(0, 200)}`,
  );
  const codes = (response.body.errors ?? []).map((error) => error.extensions?.code);
  assert.ok(codes.length > 0, `${what}: no errors in ${response.text.slice(0, 200)}`);
  assert.deepEqual([...new Set(codes)], [code], `${what}: ${response.text.slice(0, 300)}`);
  assertNoInternals(response, what);
}

const secret = new TextEncoder().encode(DEV_JWT_SECRET);
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const inAnHour = () => Math.floor(Date.now() / 1000) + 3_600;

/** Tokens that must each be refused with HTTP 401, by the gateway and by every subgraph. */
async function badAuthorizations(): Promise<[string, string][]> {
  const user = uid('victim');
  return [
    [
      'a token signed with another secret',
      `Bearer ${await signDevToken(user, 'another-secret-another-secret-0123456789')}`,
    ],
    [
      'a token that expired a minute ago',
      `Bearer ${await signDevToken(user, undefined, Math.floor(Date.now() / 1000) - 60)}`,
    ],
    [
      'a token that expired a day ago',
      `Bearer ${await signDevToken(user, undefined, Math.floor(Date.now() / 1000) - 86_400)}`,
    ],
    [
      'an alg:none token',
      `Bearer ${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: user, exp: inAnHour() })}.`,
    ],
    [
      'an HS512 token with the right secret',
      `Bearer ${await new SignJWT({}).setProtectedHeader({ alg: 'HS512' }).setSubject(user).setExpirationTime('1h').sign(secret)}`,
    ],
    [
      'a token without sub',
      `Bearer ${await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(secret)}`,
    ],
    [
      'a token whose sub is no user id',
      `Bearer ${await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('bad user!').setExpirationTime('1h').sign(secret)}`,
    ],
    [
      'a token not valid before an hour from now',
      `Bearer ${await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(user).setNotBefore('1h').setExpirationTime('2h').sign(secret)}`,
    ],
    [
      'a token whose sub is 65 characters long',
      `Bearer ${await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('s'.repeat(65)).setExpirationTime('1h').sign(secret)}`,
    ],
    ['a tampered payload', await tampered(user)],
    ...(await unboundedTokens(user)).map((token, i): [string, string] => [
      ['a token without exp', 'a token that lives 30 days'][i] as string,
      `Bearer ${token}`,
    ]),
    ['garbage', 'Bearer garbage'],
    ['three dots of nothing', 'Bearer ..'],
    ['Basic credentials', `Basic ${Buffer.from('alice:secret').toString('base64')}`],
    ['Bearer with no token', 'Bearer'],
    ['a bare token without Bearer', await signDevToken(user)],
    ['two tokens', `Bearer ${await signDevToken(user)} ${await signDevToken(user)}`],
  ];
}

/** A valid token for one user with the payload swapped for another's: the signature no longer matches. */
async function tampered(user: string): Promise<string> {
  const [header, , signature] = (await signDevToken(user)).split('.');
  return `Bearer ${header}.${b64({ sub: 'admin', exp: inAnHour() })}.${signature}`;
}

describe('authentication', () => {
  const mutations: [
    string,
    string,
    (postId: string, commentId: string) => Record<string, unknown>,
  ][] = [
    [
      'createPost',
      `mutation($i: CreatePostInput!) { createPost(input: $i) { id } }`,
      () => ({ i: { media: [PHOTO] } }),
    ],
    [
      'updatePost',
      `mutation($id: ID!) { updatePost(id: $id, caption: "x") { id } }`,
      (p) => ({ id: p }),
    ],
    ['deletePost', `mutation($id: ID!) { deletePost(id: $id) }`, (p) => ({ id: p })],
    ['followUser', `mutation($u: ID!) { followUser(userId: $u) { id } }`, () => ({ u: 'someone' })],
    [
      'unfollowUser',
      `mutation($u: ID!) { unfollowUser(userId: $u) { id } }`,
      () => ({ u: 'someone' }),
    ],
    ['likePost', `mutation($p: ID!) { likePost(postId: $p) { id } }`, (p) => ({ p })],
    ['unlikePost', `mutation($p: ID!) { unlikePost(postId: $p) { id } }`, (p) => ({ p })],
    [
      'addComment',
      `mutation($p: ID!) { addComment(postId: $p, body: "hi") { id } }`,
      (p) => ({ p }),
    ],
    [
      'editComment',
      `mutation($id: ID!) { editComment(id: $id, body: "hi") { id } }`,
      (_p, c) => ({ id: c }),
    ],
    ['deleteComment', `mutation($id: ID!) { deleteComment(id: $id) }`, (_p, c) => ({ id: c })],
  ];

  test("every subgraph's mutations are UNAUTHENTICATED without a token, and change nothing", async () => {
    const author = uid('author');
    const target = await createPost(stack, author, { caption: 'untouched' });
    const comment: any = ok(
      await stack.gql(
        `mutation($p: ID!) { addComment(postId: $p, body: "keep") { id } }`,
        { p: target.id },
        { as: author },
      ),
    );
    for (const [name, query, variables] of mutations) {
      const result = await stack.gql(query, variables(target.id, comment.addComment.id));
      assertError(result, 'UNAUTHENTICATED', `anonymous ${name}`);
    }
    const state: any = ok(
      await stack.gql(
        `query($p: ID!, $c: ID!) { post(id: $p) { caption likeCount commentCount } comment(id: $c) { body } }`,
        { p: target.id, c: comment.addComment.id },
      ),
    );
    assert.deepEqual(state, {
      post: { caption: 'untouched', likeCount: 0, commentCount: 1 },
      comment: { body: 'keep' },
    });
  });

  test('each subgraph called directly without a token refuses its mutations', async () => {
    const author = uid('author');
    const target = await createPost(stack, author);
    const comment: any = ok(
      await stack.gql(
        `mutation($p: ID!) { addComment(postId: $p, body: "keep") { id } }`,
        { p: target.id },
        { as: author },
      ),
    );
    const subgraphOf: Record<string, keyof TestStack['urls']> = {
      createPost: 'feed',
      updatePost: 'feed',
      deletePost: 'feed',
      followUser: 'feed',
      unfollowUser: 'feed',
      likePost: 'likes',
      unlikePost: 'likes',
      addComment: 'comments',
      editComment: 'comments',
      deleteComment: 'comments',
    };
    for (const [name, query, variables] of mutations) {
      const url = stack.urls[subgraphOf[name] as keyof TestStack['urls']];
      const result = await stack.gql(query, variables(target.id, comment.addComment.id), { url });
      assertError(result, 'UNAUTHENTICATED', `direct ${name}`);
    }
    assert.equal(
      (
        ok(
          await stack.gql(`query($p: ID!) { post(id: $p) { likeCount commentCount } }`, {
            p: target.id,
          }),
        ) as any
      ).post.likeCount,
      0,
    );
  });

  test('anonymous reads are allowed, except the feed', async () => {
    const author = uid('author');
    const target = await createPost(stack, author);
    const data: any = ok(
      await stack.gql(
        `query($p: ID!, $u: ID!) { post(id: $p) { id likeCount viewerHasLiked commentCount } user(id: $u) { id viewerFollows } viewer { id } }`,
        { p: target.id, u: author },
      ),
    );
    assert.deepEqual(data, {
      post: { id: target.id, likeCount: 0, viewerHasLiked: false, commentCount: 0 },
      user: { id: author, viewerFollows: false },
      viewer: null,
    });
    assertError(await stack.gql(`{ feed { edges { cursor } } }`), 'UNAUTHENTICATED');
  });

  test('a bad Authorization header is HTTP 401 UNAUTHENTICATED at the gateway, even for public reads', async () => {
    for (const [what, authorization] of await badAuthorizations()) {
      for (const query of [
        '{ viewer { id } }',
        `{ post(id: "${unknownPostId()}") { id } }`,
        'mutation { deletePost(id: "x") }',
      ]) {
        const response = await post(stack.gatewayUrl, { query }, { authorization });
        assert.equal(
          response.status,
          401,
          `${what} / ${query}: HTTP ${response.status}: ${response.text.slice(0, 200)}`,
        );
        assertCodes(response, 'UNAUTHENTICATED', what);
        assert.equal(response.body?.data ?? null, null, `${what}: data was served`);
        assert.match(response.headers.get('content-type') ?? '', /json/);
        assert.ok(response.headers.get('x-request-id'), `${what}: no x-request-id on the 401`);
      }
    }
  });

  test('a bad token sent straight to any subgraph is HTTP 401 too', async () => {
    for (const [what, authorization] of await badAuthorizations()) {
      for (const [name, url] of Object.entries(stack.urls)) {
        const response = await post(url, { query: '{ __typename }' }, { authorization });
        assert.equal(response.status, 401, `${name}, ${what}: HTTP ${response.status}`);
        assertCodes(response, 'UNAUTHENTICATED', `${name}, ${what}`);
      }
    }
  });

  test('a bad token never writes: the forged author has no post afterwards', async () => {
    const victim = uid('victim');
    const forged = await signDevToken(victim, 'another-secret-another-secret-0123456789');
    const result = await stack.gql(
      `mutation($i: CreatePostInput!) { createPost(input: $i) { id } }`,
      { i: { media: [PHOTO] } },
      { token: forged },
    );
    assert.equal(result.status, 401);
    assertError(result, 'UNAUTHENTICATED');
    assert.deepEqual(ok(await stack.gql(`query($u: ID!) { user(id: $u) { id } }`, { u: victim })), {
      user: null,
    });
  });

  test('a valid token in any letter case of "bearer" is accepted', async () => {
    const token = await signDevToken(uid('case'));
    for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
      const response = await post(
        stack.gatewayUrl,
        { query: '{ viewer { id } }' },
        { authorization: `${scheme} ${token}` },
      );
      assert.equal(response.status, 200, `${scheme}: ${response.text}`);
      assert.ok(response.body?.data?.viewer?.id);
    }
  });
});

describe('malformed requests', () => {
  test('a body over 1,000,000 bytes is HTTP 413 with a JSON BAD_USER_INPUT error', async () => {
    const big = JSON.stringify({
      query: '{ viewer { id } }',
      variables: { padding: 'a'.repeat(1_000_001) },
    });
    const response = await post(stack.gatewayUrl, big, { 'x-request-id': 'big-body-1' });
    assert.equal(response.status, 413);
    assertCodes(response, 'BAD_USER_INPUT', '413');
    assert.equal(response.headers.get('x-request-id'), 'big-body-1');
    // The server still answers afterwards.
    assert.deepEqual(ok(await stack.gql('{ viewer { id } }')), { viewer: null });
  });

  test('a streamed body without Content-Length is cut off at the limit too', async () => {
    const chunk = Buffer.alloc(64 * 1024, 'a');
    let sent = 0;
    const stream = new Readable({
      read() {
        if (sent === 0) {
          this.push('{"query":"{ viewer { id } }","variables":{"padding":"');
          sent++;
        } else if (sent < 40) {
          this.push(chunk);
          sent++;
        } else {
          this.push('"}}');
          this.push(null);
        }
      },
    });
    let response: RawResponse;
    try {
      response = await raw(stack.gatewayUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: Readable.toWeb(stream) as unknown as ReadableStream,
        duplex: 'half',
      });
    } catch (error) {
      // The server may close the connection before the whole body is sent; that is a refusal too,
      // but it must have answered 413 first, which fetch then reports.
      throw new Error(
        `no 413 answer to a streamed 2.6 MB body: ${String((error as Error).cause ?? error)}`,
      );
    }
    assert.equal(response.status, 413);
    assertCodes(response, 'BAD_USER_INPUT', 'streamed 413');
  });

  test('a body just under the limit is served', async () => {
    const id = 'x'.repeat(990_000);
    const response = await post(stack.gatewayUrl, {
      query: 'query($id: ID!) { post(id: $id) { id } }',
      variables: { id },
    });
    assert.equal(response.status, 200, response.text.slice(0, 200));
    assert.deepEqual(response.body, { data: { post: null } });
  });

  test('a syntax error is GRAPHQL_PARSE_FAILED; an unknown field GRAPHQL_VALIDATION_FAILED', async () => {
    const cases: [string, string, string][] = [
      ['unclosed brace', '{ viewer { id ', 'GRAPHQL_PARSE_FAILED'],
      ['stray token', 'query { post(id: "x") { id } } }', 'GRAPHQL_PARSE_FAILED'],
      ['empty document', ' ', 'GRAPHQL_PARSE_FAILED'],
      ['unknown field', '{ viewer { passwordHash } }', 'GRAPHQL_VALIDATION_FAILED'],
      ['unknown root field', '{ users { id } }', 'GRAPHQL_VALIDATION_FAILED'],
      ['unknown argument', '{ post(id: "x", evil: true) { id } }', 'GRAPHQL_VALIDATION_FAILED'],
      ['missing selection', '{ viewer }', 'GRAPHQL_VALIDATION_FAILED'],
      ['missing required argument', '{ post { id } }', 'GRAPHQL_VALIDATION_FAILED'],
      ['undeclared variable', '{ post(id: $id) { id } }', 'GRAPHQL_VALIDATION_FAILED'],
    ];
    for (const [what, query, code] of cases) {
      const response = await post(
        stack.gatewayUrl,
        { query },
        { authorization: `Bearer ${await stack.token(uid('p'))}` },
      );
      assert.equal(response.status, 400, `${what}: HTTP ${response.status}`);
      assertCodes(response, code, what);
    }
  });

  test('bad variables are BAD_USER_INPUT', async () => {
    const cases: [string, string, Record<string, unknown>][] = [
      [
        'a string for an Int',
        'query($f: Int) { viewer { posts(first: $f) { edges { cursor } } } }',
        { f: 'ten' },
      ],
      [
        'a 64-bit Int',
        'query($f: Int) { viewer { posts(first: $f) { edges { cursor } } } }',
        { f: 2 ** 40 },
      ],
      ['a missing required variable', 'query($id: ID!) { post(id: $id) { id } }', {}],
      ['an object for an ID', 'query($id: ID!) { post(id: $id) { id } }', { id: { $gt: '' } }],
      [
        'an unknown enum value',
        'mutation($i: CreatePostInput!) { createPost(input: $i) { id } }',
        { i: { media: [{ kind: 'AUDIO', url: PHOTO.url }] } },
      ],
      [
        'an unknown input field',
        'mutation($i: CreatePostInput!) { createPost(input: $i) { id } }',
        { i: { media: [PHOTO], author: 'admin' } },
      ],
    ];
    for (const [what, query, variables] of cases) {
      const result = await stack.gql(query, variables, { as: uid('v') });
      assertError(result, 'BAD_USER_INPUT', what);
    }
  });

  test('bad envelopes are refused with 4xx, never 500', async () => {
    const cases: [string, string, string][] = [
      ['invalid JSON', '{"query": ', 'application/json'],
      [
        'a JSON array (batching)',
        JSON.stringify([{ query: '{ viewer { id } }' }, { query: '{ viewer { id } }' }]),
        'application/json',
      ],
      ['no query', '{}', 'application/json'],
      ['a number for the query', JSON.stringify({ query: 42 }), 'application/json'],
      [
        'a string for the variables',
        JSON.stringify({ query: '{ viewer { id } }', variables: 'nope' }),
        'application/json',
      ],
      ['JSON null', 'null', 'application/json'],
      ['a text/plain body', '{ viewer { id } }', 'text/plain'],
    ];
    for (const [what, body, type] of cases) {
      const response = await raw(stack.gatewayUrl, {
        method: 'POST',
        headers: { 'content-type': type },
        body,
      });
      assert.ok(
        response.status >= 400 && response.status < 500,
        `${what}: HTTP ${response.status}: ${response.text.slice(0, 200)}`,
      );
      assertNoInternals(response, what);
      assert.ok(
        response.body?.errors?.length,
        `${what}: no GraphQL errors in ${response.text.slice(0, 200)}`,
      );
    }
  });

  test('an unknown operationName is a 400 client error, not a 500', async () => {
    const response = await post(stack.gatewayUrl, {
      query: 'query A { viewer { id } }',
      operationName: 'B',
    });
    assertNoInternals(response, 'unknown operationName');
    assert.equal(response.status, 400, `HTTP ${response.status}: ${response.text}`);
    const code = response.body?.errors?.[0]?.extensions?.code;
    assert.notEqual(code, 'INTERNAL_SERVER_ERROR', response.text);
  });

  test('several operations without an operationName are a 400 client error, not a 500', async () => {
    const response = await post(stack.gatewayUrl, {
      query: 'query A { viewer { id } } query B { viewer { id } }',
    });
    assertNoInternals(response, 'ambiguous operation');
    assert.equal(response.status, 400, `HTTP ${response.status}: ${response.text}`);
    assert.notEqual(
      response.body?.errors?.[0]?.extensions?.code,
      'INTERNAL_SERVER_ERROR',
      response.text,
    );
  });

  test('GET serves queries and refuses mutations without running them', async () => {
    const author = uid('author');
    const target = await createPost(stack, author);
    const query = encodeURIComponent(`{ post(id: "${target.id}") { id author { id } } }`);
    const get = await raw(`${stack.gatewayUrl}?query=${query}`, {
      headers: { 'apollo-require-preflight': 'true' },
    });
    assert.equal(get.status, 200, get.text);
    assert.deepEqual(get.body, { data: { post: { id: target.id, author: { id: author } } } });

    const mutation = encodeURIComponent(`mutation { deletePost(id: "${target.id}") }`);
    const refused = await raw(`${stack.gatewayUrl}?query=${mutation}`, {
      headers: {
        'apollo-require-preflight': 'true',
        authorization: `Bearer ${await stack.token(author)}`,
      },
    });
    assert.equal(refused.status, 405);
    assertNoInternals(refused, 'GET mutation');
    assert.notEqual(
      (ok(await stack.gql(`query($p: ID!) { post(id: $p) { id } }`, { p: target.id })) as any).post,
      null,
    );
  });
});

describe('internal errors are masked', () => {
  test('a corrupt stored post yields "Internal server error" with no details, through the gateway and directly', async () => {
    const author = uid('corrupt');
    const shard = shardOfUser(author);
    const id = newId(shard);
    await stack.mongo
      .db(`${stack.dbPrefix}_feed`)
      .collection('posts')
      .insertOne({
        _id: id as never,
        shard,
        authorId: author,
        caption: 'broken',
        media: [{ kind: 'GIF', url: 'https://cdn.example.com/secret-internal-path.gif' }],
        createdAt: 'not a date',
        updatedAt: 'not a date',
      });
    for (const url of [stack.gatewayUrl, stack.urls.feed]) {
      const result: GraphQLResult = await stack.gql(
        `query($id: ID!) { post(id: $id) { id createdAt media { kind url } } }`,
        { id },
        { url },
      );
      assertClean(result);
      assert.ok(result.errors?.length, `${url}: no error for a corrupt post`);
      for (const error of result.errors ?? []) {
        assert.equal(error.message, 'Internal server error', `${url}: ${JSON.stringify(error)}`);
        assert.equal(error.extensions?.code, 'INTERNAL_SERVER_ERROR');
        assert.deepEqual(
          Object.keys(error.extensions ?? {}),
          ['code'],
          `${url}: extra extensions ${JSON.stringify(error.extensions)}`,
        );
      }
      assert.doesNotMatch(
        JSON.stringify(result.errors),
        /GIF|not a date|Invalid|cannot represent|MediaKind/i,
      );
    }
    // Other requests are unaffected.
    assert.deepEqual(ok(await stack.gql('{ viewer { id } }')), { viewer: null });
  });
});

describe('x-request-id', () => {
  test('a sane incoming id is echoed, on success and on every kind of failure', async () => {
    const base = stack.gatewayUrl.replace(/\/graphql$/, '');
    const requests: [string, string, (id: string) => Promise<Response>][] = [
      ['a query', 'req-1.query:A_b', (id) => fetch(stack.gatewayUrl, req('{ viewer { id } }', id))],
      ['a parse error', 'req-2', (id) => fetch(stack.gatewayUrl, req('{ viewer', id))],
      [
        'a 401',
        'req-3',
        (id) => fetch(stack.gatewayUrl, req('{ viewer { id } }', id, 'Bearer nope')),
      ],
      [
        'an anonymous mutation',
        'req-4',
        (id) => fetch(stack.gatewayUrl, req('mutation { deletePost(id: "x") }', id)),
      ],
      [
        'health',
        'req-5',
        (id) => fetch(`${base}/health/live`, { headers: { 'x-request-id': id } }),
      ],
      [
        'an unknown path',
        'req-6',
        (id) => fetch(`${base}/nope`, { headers: { 'x-request-id': id } }),
      ],
      [
        'a 128-character id',
        'r'.repeat(128),
        (id) => fetch(stack.gatewayUrl, req('{ viewer { id } }', id)),
      ],
    ];
    for (const [what, id, send] of requests) {
      const response = await send(id);
      await response.arrayBuffer();
      assert.equal(response.headers.get('x-request-id'), id, what);
    }
  });

  test('a missing or insane incoming id is replaced by a fresh one per request', async () => {
    const seen = new Set<string>();
    for (const incoming of [
      undefined,
      '',
      'has spaces in it',
      'x'.repeat(129),
      'semi;colon',
      '<script>',
    ]) {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (incoming !== undefined) headers['x-request-id'] = incoming;
      const response = await fetch(stack.gatewayUrl, {
        method: 'POST',
        headers,
        body: JSON.stringify({ query: '{ viewer { id } }' }),
      });
      await response.arrayBuffer();
      const id = response.headers.get('x-request-id');
      assert.ok(id, `no x-request-id for ${JSON.stringify(incoming)}`);
      assert.notEqual(id, incoming);
      assert.match(id, /^[A-Za-z0-9._:-]{8,128}$/);
      seen.add(id);
    }
    assert.equal(seen.size, 6, 'request ids were reused');
  });
});

describe('health', () => {
  test('the gateway and every subgraph answer /health/live and /health/ready', async () => {
    for (const base of [stack.gatewayUrl, ...Object.values(stack.urls)]) {
      for (const path of ['/health/live', '/health/ready']) {
        const response = await raw(base.replace(/\/graphql$/, path));
        assert.equal(response.status, 200, `${base} ${path}: ${response.text}`);
      }
    }
  });
});

function req(query: string, requestId: string, authorization?: string): RequestInit {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-request-id': requestId,
  };
  if (authorization) headers.authorization = authorization;
  return { method: 'POST', headers, body: JSON.stringify({ query }) };
}
