import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sample } from '../helpers/metrics.js';
import { ok, startStack, type TestStack } from '../helpers/stack.js';
import { createPost, uid } from './support.js';

/**
 * A subgraph answers an operation it has parsed, validated and resolved once without Apollo
 * Server's request pipeline (`platform/validated-operations.ts`). Each case sends a subgraph the
 * same request twice, the second answered directly, and compares both with Apollo Server's
 * answer to it (the body with one field more, which Apollo Server ignores and the direct path
 * leaves to it): status, media type and bytes.
 */
let stack: TestStack;
let author: string;
let postId: string;

before(async () => {
  stack = await startStack();
  author = uid('author');
  postId = (await createPost(stack, author, { caption: 'direct' })).id;
  ok(
    await stack.gql(
      'mutation($id: ID!) { addComment(postId: $id, body: "hello") { id } }',
      { id: postId },
      { as: author },
    ),
  );
});

after(async () => {
  await stack.stop();
});

type Subgraph = 'feed' | 'likes' | 'comments';

const directRuns = (subgraph: Subgraph) =>
  sample(stack.urls[subgraph], 'graphql_operation_duration_seconds_count', { pipeline: 'direct' });

async function send(
  subgraph: Subgraph,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
  init: { method?: 'GET'; search?: string } = {},
) {
  const response = await fetch(`${stack.urls[subgraph]}${init.search ?? ''}`, {
    method: init.method ?? 'POST',
    headers: init.method ? headers : { 'content-type': 'application/json', ...headers },
    ...(!init.method && { body: JSON.stringify(body) }),
  });
  return {
    status: response.status,
    contentType: response.headers.get('content-type'),
    body: await response.text(),
  };
}

const bearer = async (as: string) => ({ authorization: `Bearer ${await stack.token(as)}` });

/** Apollo Server's answer: a field it ignores keeps the request off the direct path. */
const throughApollo = (body: Record<string, unknown>) => ({ ...body, unread: true });

/** The first request through Apollo Server, the second direct: both as Apollo Server answers. */
async function twice(subgraph: Subgraph, body: Record<string, unknown>, as = author) {
  const headers = await bearer(as);
  const first = await send(subgraph, body, headers);
  const before = await directRuns(subgraph);
  const second = await send(subgraph, body, headers);
  assert.equal(await directRuns(subgraph), before + 1, `${subgraph} answers the second directly`);
  assert.deepEqual(second, first);
  assert.deepEqual(await send(subgraph, throughApollo(body), headers), first);
  assert.equal(await directRuns(subgraph), before + 1);
  return first;
}

const entities = (selection: string) =>
  `query Direct($r: [_Any!]!) { _entities(representations: $r) { ... on Post { ${selection} } } }`;

test('the gateway’s kind of fetch, in each subgraph: the bytes Apollo Server sends', async () => {
  const r = [{ __typename: 'Post', id: postId }];
  const feed = await twice('feed', { query: entities('id caption'), variables: { r } });
  assert.match(feed.body, /"caption":"direct"/);
  const likes = await twice('likes', {
    query: entities('likeCount viewerHasLiked'),
    variables: { r },
  });
  assert.match(likes.body, /"likeCount":0/);
  const comments = await twice('comments', {
    query: entities('commentCount'),
    variables: { r },
  });
  assert.match(comments.body, /"commentCount":1/);
});

test('errors in execution: the same codes, paths and masking as Apollo Server', async () => {
  // A representation without its key: BAD_USER_INPUT from the entity guard, data null.
  const refused = await twice('feed', {
    query: entities('id'),
    variables: { r: [{ __typename: 'Post' }] },
  });
  assert.match(refused.body, /BAD_USER_INPUT/);
  // A post that does not exist: null, no error.
  await twice('likes', {
    query: entities('likeCount'),
    variables: { r: [{ __typename: 'Post', id: 'nope' }] },
  });
});

test('refusals before execution stay with Apollo Server: forged token, limits, variables, GET', async () => {
  const r = [{ __typename: 'Post', id: postId }];
  const query = entities('id');
  await twice('feed', { query, variables: { r } });
  const search = `?query=${encodeURIComponent(query)}&variables=${encodeURIComponent(JSON.stringify({ r }))}`;
  const before = await directRuns('feed');
  const forged = await send(
    'feed',
    { query, variables: { r } },
    { authorization: `Bearer ${(await stack.token(author)).slice(0, -2)}xx` },
  );
  assert.equal(forged.status, 401);
  // A required variable left out: a coercion error.
  const wrongType = await send('feed', { query, variables: {} }, await bearer(author));
  assert.equal(wrongType.status, 400);
  assert.match(wrongType.body, /BAD_USER_INPUT/);
  const tooMany = await send(
    'feed',
    { query, variables: { r: Array.from({ length: 5_000 }, () => r[0]) } },
    await bearer(author),
  );
  assert.match(tooMany.body, /QUERY_TOO_COMPLEX/);
  const surrogate = await send(
    'feed',
    { query, variables: { r: [{ __typename: 'Post', id: '\ud800' }] } },
    await bearer(author),
  );
  assert.equal(surrogate.status, 400);
  assert.match(surrogate.body, /BAD_USER_INPUT/);
  const unguarded = await send('feed', {}, await bearer(author), { method: 'GET', search });
  assert.equal(unguarded.status, 400);
  assert.match(unguarded.body, /Cross-Site Request Forgery/);
  // A name that is no GraphQL name names no operation, even where its text and name, run
  // together, read as an operation run before (`Direct` of "#\n" + the query).
  await send(
    'feed',
    { query: `#\n${query}`, variables: { r }, operationName: 'Direct' },
    await bearer(author),
  );
  const oddName = await send(
    'feed',
    { query, variables: { r }, operationName: 'Direct\n#' },
    await bearer(author),
  );
  assert.match(oddName.body, /OPERATION_RESOLUTION_FAILURE/);
  const browsing = await send(
    'feed',
    {},
    {
      ...(await bearer(author)),
      'apollo-require-preflight': 'true',
      accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
    },
    { method: 'GET', search },
  );
  assert.match(browsing.contentType ?? '', /^text\/html/);
  assert.equal(await directRuns('feed'), before, 'none of them ran directly');
  // A GET with a header a form cannot send runs directly, as Apollo Server answers it.
  const guarded = { ...(await bearer(author)), 'apollo-require-preflight': 'true' };
  const byGet = await send('feed', {}, guarded, { method: 'GET', search });
  const byPost = await send('feed', throughApollo({ query, variables: { r } }), guarded);
  assert.equal(await directRuns('feed'), before + 1);
  assert.deepEqual(byGet, byPost);
});

test('a mutation through the gateway runs directly in its subgraph from the second time', async () => {
  const liker = uid('liker');
  const like = 'mutation DirectLike($id: ID!) { likePost(postId: $id) { id likeCount } }';
  ok(await stack.gql(like, { id: postId }, { as: liker }));
  const before = await directRuns('likes');
  const again = ok(await stack.gql(like, { id: postId }, { as: uid('liker') }));
  assert.deepEqual(again, { likePost: { id: postId, likeCount: 2 } });
  assert.ok((await directRuns('likes')) > before, 'the likes subgraph ran the like directly');
});
