import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sample } from '../helpers/metrics.js';
import { ok, startStack, type GraphQLResult, type TestStack } from '../helpers/stack.js';
import { createPost, uid, unknownPostId } from './support.js';

/**
 * The gateway runs an operation's first request through `@apollo/gateway` and the next ones
 * through its compiled copy (`gateway/execution/`). Each case here sends the same request twice
 * and asserts that the second answer, from the compiled path, is the first one exactly: data,
 * field order, errors with their codes and paths.
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

const answer = (result: GraphQLResult<unknown>) => ({
  status: result.status,
  body: JSON.stringify({ data: result.data, errors: result.errors }),
});

/** Sends the request twice: the first answer from `@apollo/gateway`, the second compiled. */
async function twice(query: string, variables?: Record<string, unknown>, as = viewer) {
  const before = await compiledRuns();
  const first = await stack.gql(query, variables, { as });
  assert.equal(await compiledRuns(), before, 'the first request is planned by @apollo/gateway');
  const second = await stack.gql(query, variables, { as });
  assert.equal(await compiledRuns(), before + 1, 'the second request runs compiled');
  assert.deepEqual(answer(second), answer(first));
  return first;
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

test('a stopped subgraph: the same partial answer and SUBGRAPH_UNAVAILABLE errors', async () => {
  await stack.subgraphs.likes.stop();
  const first = await twice(`query CompiledUnavailable {
    feed(first: 3) { edges { node { id caption likeCount } } }
  }`);
  assert.equal(first.data, null);
  assert.equal(first.errors?.[0]?.extensions?.code, 'SUBGRAPH_UNAVAILABLE');
});
