import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import { sample } from '../helpers/metrics.js';
import { ok, startStack, type GraphQLResult, type TestStack } from '../helpers/stack.js';
import { createPost, uid, unknownPostId } from './support.js';

/**
 * The gateway runs an operation's first request through `@apollo/gateway` and the next ones
 * through its compiled copy (`gateway/execution/`); a compiled query over HTTP is answered
 * without Apollo Server's request pipeline (`compiled-requests.ts`). Each case here sends the same
 * request twice and asserts that the second answer, from the compiled path, is the first one
 * exactly: status, headers, bytes (data, field order, errors with their codes and paths).
 */
let stack: TestStack;
let viewer: string;
let author: string;
const posts: string[] = [];

before(async () => {
  stack = await startStack();
  viewer = uid('viewer');
  author = uid('author');
  for (const caption of ['one', null, 'three']) {
    posts.push((await createPost(stack, author, { caption })).id);
  }
  // Users exist once they have posted.
  await createPost(stack, viewer);
  ok(
    await stack.gql(
      'mutation($id: ID!) { followUser(userId: $id) { id } }',
      { id: author },
      {
        as: viewer,
      },
    ),
  );
  for (const [as, body] of [
    [viewer, 'first!'],
    [author, 'thanks'],
  ] as const) {
    ok(
      await stack.gql(
        'mutation($id: ID!, $body: String!) { addComment(postId: $id, body: $body) { id } }',
        { id: posts[0], body },
        { as },
      ),
    );
  }
  ok(
    await stack.gql(
      'mutation($id: ID!) { likePost(postId: $id) { id } }',
      { id: posts[0] },
      {
        as: viewer,
      },
    ),
  );
});

after(async () => {
  await stack.stop();
});

const compiledRuns = () =>
  sample(stack.gatewayUrl, 'gateway_plan_executions_total', { path: 'compiled' });
/** Compiled queries answered without Apollo Server's request pipeline (`compiled-requests.ts`). */
const directRuns = () =>
  sample(stack.gatewayUrl, 'gateway_plan_executions_total', { pipeline: 'direct' });

/** An answer as the client reads it off the wire. */
interface RawAnswer {
  status: number;
  contentType: string | null;
  cacheControl: string | null;
  retryAfter: string | null;
  body: string;
}

async function raw(
  init: { method?: 'GET' | 'POST'; body?: Record<string, unknown>; search?: string },
  headers: Record<string, string>,
  url = stack.gatewayUrl,
): Promise<RawAnswer> {
  const response = await fetch(`${url}${init.search ?? ''}`, {
    method: init.method ?? 'POST',
    headers: init.method === 'GET' ? headers : { 'content-type': 'application/json', ...headers },
    ...(init.body && { body: JSON.stringify(init.body) }),
  });
  return {
    status: response.status,
    contentType: response.headers.get('content-type'),
    cacheControl: response.headers.get('cache-control'),
    retryAfter: response.headers.get('retry-after'),
    body: await response.text(),
  };
}

const bearer = async (as: string) => ({ authorization: `Bearer ${await stack.token(as)}` });

/**
 * A body field the direct path leaves to Apollo Server (`onError`, at its default): the same
 * compiled operation, answered through Apollo Server's pipeline, for comparison.
 */
const throughApollo = (body: Record<string, unknown>) => ({ ...body, onError: 'PROPAGATE' });

/**
 * Sends the request twice: the first answer from `@apollo/gateway`, the second compiled and
 * answered without Apollo Server; the two must be the same bytes, status and headers.
 */
async function twice(query: string, variables?: Record<string, unknown>, as = viewer) {
  const headers = await bearer(as);
  const before = await compiledRuns();
  const direct = await directRuns();
  const first = await raw({ body: { query, variables } }, headers);
  assert.equal(await compiledRuns(), before, 'the first request is planned by @apollo/gateway');
  const second = await raw({ body: { query, variables } }, headers);
  assert.equal(await compiledRuns(), before + 1, 'the second request runs compiled');
  assert.equal(await directRuns(), direct + 1, 'the second request is answered directly');
  assert.deepEqual(second, first);
  return JSON.parse(first.body) as GraphQLResult<unknown>;
}

test('the feed query: entities from three subgraphs, nested lists, aliases and fragments', async () => {
  const first = await twice(`query CompiledFeed {
    feed(first: 10) {
      edges {
        cursor
        node {
          __typename
          id caption createdAt
          media { kind url width height }
          writer: author { id username ... on User { followerCount } }
          likeCount viewerHasLiked commentCount
          ... on Post { kind: __typename comments(first: 2) { edges { node { id body author { id username } } } } }
        }
      }
      pageInfo { hasNextPage endCursor }
    }
  }`);
  const feed = (first.data as { feed: { edges: { node: Record<string, unknown> }[] } }).feed;
  assert.equal(feed.edges.length, 4, "the viewer's own post and the three followed");
  const liked = feed.edges.find((edge) => edge.node.id === posts[0])?.node;
  assert.equal(liked?.likeCount, 1);
  assert.equal(liked?.viewerHasLiked, true);
  assert.equal(liked?.commentCount, 2);
  assert.equal(liked?.kind, 'Post');
});

test('@skip and @include follow each request’s variables on the compiled path', async () => {
  const query = `query CompiledSkip($withLikes: Boolean!, $id: ID!) {
    post(id: $id) {
      id
      likeCount @include(if: $withLikes)
      caption @skip(if: $withLikes)
      comments(first: 1) @include(if: $withLikes) { edges { node { body } } }
    }
  }`;
  await twice(query, { withLikes: true, id: posts[0] });
  const without = await stack.gql(query, { withLikes: false, id: posts[0] }, { as: viewer });
  assert.deepEqual(ok(without), { post: { id: posts[0], caption: 'one' } });
});

test('a post that does not exist is null, and a null caption stays null', async () => {
  const query = `query CompiledNulls($missing: ID!, $bare: ID!) {
    missing: post(id: $missing) { id caption likeCount }
    bare: post(id: $bare) { id caption likeCount author { username } }
  }`;
  const first = await twice(query, { missing: unknownPostId(), bare: posts[1] });
  assert.deepEqual(first.data, {
    missing: null,
    bare: { id: posts[1], caption: null, likeCount: 0, author: { username: null } },
  });
});

test('variables of the wrong type are refused on the compiled path as on the first', async () => {
  const query = 'query CompiledVariables($first: Int) { feed(first: $first) { edges { cursor } } }';
  await twice(query, { first: 2 });
  const before = await compiledRuns();
  const refused = await stack.gql(query, { first: 'many' }, { as: viewer });
  assert.equal(await compiledRuns(), before + 1);
  assert.equal(refused.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
  assert.match(refused.errors?.[0]?.message ?? '', /\$first/);
});

test('a subgraph error keeps its code and its path in the client’s response', async () => {
  const first = await twice(
    `query CompiledErrors($id: ID!) {
      post(id: $id) { id comments(first: 2, after: "not-a-cursor") { edges { cursor } } }
    }`,
    { id: posts[0] },
  );
  assert.equal(first.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
  assert.deepEqual(first.errors?.[0]?.path, ['post', 'comments']);
});

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const persisted = (hash: string) => ({ persistedQuery: { version: 1, sha256Hash: hash } });

test('by POST, GET and persisted hash, under each accept header: the bytes Apollo Server sends', async () => {
  const query = `query CompiledTransports($id: ID!) { post(id: $id) { id caption likeCount } }`;
  const variables = { id: posts[0] };
  const headers = await bearer(viewer);
  await twice(query, variables);
  // Registers the hash, through Apollo Server, as a client's first persisted request does.
  const hash = sha256(query);
  assert.equal(
    (await raw({ body: { query, variables, extensions: persisted(hash) } }, headers)).status,
    200,
  );
  const search = `?query=${encodeURIComponent(query)}&variables=${encodeURIComponent(JSON.stringify(variables))}`;
  for (const accept of [
    undefined,
    'application/graphql-response+json',
    // Apollo Client's
    'application/graphql-response+json,application/json;q=0.9',
    '*/*',
    'application/json, multipart/mixed;subscriptionSpec="1.0"',
  ]) {
    const sent = accept ? { ...headers, accept } : headers;
    const reference = await raw({ body: throughApollo({ query, variables }) }, sent);
    assert.equal(reference.status, 200);
    const before = await directRuns();
    const answers = [
      await raw({ body: { query, variables } }, sent),
      await raw({ method: 'GET', search }, sent),
      await raw({ body: { variables, extensions: persisted(hash) } }, sent),
    ];
    assert.equal(await directRuns(), before + 3, `each answered directly (accept: ${accept})`);
    for (const answer of answers) assert.deepEqual(answer, reference);
  }
  // Refused by negotiation or by CSRF prevention (a GET with no header a form cannot send), or
  // a browser's: left to Apollo Server, which answers them.
  const before = await directRuns();
  const refused = await raw({ body: { query, variables } }, { ...headers, accept: 'text/plain' });
  assert.equal(refused.status, 406);
  const forged = await raw({ method: 'GET', search }, {});
  assert.equal(forged.status, 400);
  assert.match(forged.body, /Cross-Site Request Forgery/);
  // A browser's GET gets Apollo Server's landing page, and nothing runs.
  const browsing = await raw(
    { method: 'GET', search },
    { ...headers, accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' },
  );
  assert.match(browsing.contentType ?? '', /^text\/html/);
  assert.equal(await directRuns(), before);
});

test('a forged token, ill-formed variables, no operation name, GET nulls: left to Apollo Server', async () => {
  const query = `query CompiledRefusals($id: ID!) { post(id: $id) { id } }`;
  await twice(query, { id: posts[0] });
  const optional =
    'query CompiledOptional($first: Int) { feed(first: $first) { edges { cursor } } }';
  await twice(optional);
  const before = await directRuns();
  const forged = await raw(
    { body: { query, variables: { id: posts[0] } } },
    {
      authorization: `Bearer ${(await stack.token(viewer)).slice(0, -2)}xx`,
    },
  );
  assert.equal(forged.status, 401);
  assert.equal(JSON.parse(forged.body).errors[0].extensions.code, 'UNAUTHENTICATED');
  const surrogate = await raw(
    { body: { query, variables: { id: '\ud800' } } },
    await bearer(viewer),
  );
  assert.equal(surrogate.status, 400);
  assert.equal(JSON.parse(surrogate.body).errors[0].extensions.code, 'BAD_USER_INPUT');
  // An empty operation name names no operation of the document.
  const unnamed = await raw(
    { body: { query, variables: { id: posts[0] }, operationName: '' } },
    await bearer(viewer),
  );
  assert.deepEqual(
    [unnamed.status, JSON.parse(unnamed.body).errors[0].extensions.code],
    [400, 'OPERATION_RESOLUTION_FAILURE'],
  );
  // Over GET, `null` for variables or extensions is no object (in a POST body it is allowed).
  for (const param of ['variables', 'extensions']) {
    const search = `?query=${encodeURIComponent(optional)}&${param}=null`;
    const refused = await raw({ method: 'GET', search }, await bearer(viewer));
    assert.deepEqual(
      [refused.status, JSON.parse(refused.body).errors[0].extensions.code],
      [400, 'BAD_REQUEST'],
      param,
    );
  }
  assert.equal(await directRuns(), before);
});

/** A refusal with the seconds to wait taken out: they may tick between two requests. */
const withoutSeconds = (answer: RawAnswer) => ({
  ...answer,
  retryAfter: answer.retryAfter?.replace(/\d+/, 'N'),
  body: answer.body.replace(/\d+/g, 'N'),
});

/**
 * On a gateway of its own with a budget of `allowed` (`env`), the operation sent until refused:
 * the first request runs through Apollo Server, the next ones up to the budget directly, the
 * refusal is answered directly, and it is the answer Apollo Server gives.
 */
async function refusedOverBudget(env: Record<string, string>, allowed: number, query: string) {
  const gateway = await stack.spawnGateway(env);
  const headers = await bearer(uid('budget'));
  const send = (body: Record<string, unknown>) => raw({ body }, headers, gateway.url);
  const variables = { id: posts[0] };
  for (let i = 0; i < allowed; i++) assert.equal((await send({ query, variables })).status, 200);
  const direct = await send({ query, variables });
  const reference = await send(throughApollo({ query, variables }));
  assert.equal(
    await sample(gateway.url, 'gateway_plan_executions_total', { pipeline: 'direct' }),
    allowed - 1,
    'the requests after the first ran directly; the refusals ran nothing',
  );
  assert.equal(direct.status, 429);
  assert.equal(JSON.parse(direct.body).errors[0].extensions.code, 'RATE_LIMITED');
  assert.deepEqual(withoutSeconds(direct), withoutSeconds(reference));
}

test('over budget, a compiled query gets the refusal Apollo Server gives: 429, Retry-After', () =>
  refusedOverBudget(
    { RATE_LIMIT_USER_PER_MINUTE: '3' },
    3,
    `query CompiledBudget($id: ID!) { post(id: $id) { id } }`,
  ));

test('a mutation by POST runs directly, the same bytes; by GET it is left to Apollo Server', async () => {
  const query = `mutation CompiledLike($id: ID!) { likePost(postId: $id) { id likeCount viewerHasLiked } }`;
  // Idempotent: the second like answers as the first did.
  const first = await twice(query, { id: posts[2] });
  assert.deepEqual(first.data, { likePost: { id: posts[2], likeCount: 1, viewerHasLiked: true } });
  const before = await directRuns();
  const search = `?query=${encodeURIComponent(query)}&variables=${encodeURIComponent(JSON.stringify({ id: posts[2] }))}`;
  const byGet = await raw({ method: 'GET', search }, await bearer(viewer));
  assert.equal(byGet.status, 405);
  assert.equal(await directRuns(), before);
});

test('past its mutation budget, a compiled mutation gets the refusal Apollo Server gives', () =>
  refusedOverBudget(
    { RATE_LIMIT_MUTATIONS_PER_MINUTE: '2' },
    2,
    `mutation CompiledBudgetLike($id: ID!) { likePost(postId: $id) { id } }`,
  ));

// Last: the likes subgraph stays stopped.
test('a stopped subgraph: the same partial answer and SUBGRAPH_UNAVAILABLE errors', async () => {
  await stack.subgraphs.likes.stop();
  const first = await twice(`query CompiledUnavailable {
    feed(first: 3) { edges { node { id caption likeCount } } }
  }`);
  assert.equal(first.data, null);
  assert.equal(first.errors?.[0]?.extensions?.code, 'SUBGRAPH_UNAVAILABLE');
});
