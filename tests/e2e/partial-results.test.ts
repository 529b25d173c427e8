import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { ok, startStack, type GraphQLResult, type TestStack } from '../helpers/stack.js';
import { createPost, uid } from './support.js';

/**
 * The likes subgraph stopped under a running gateway. By default the gateway keeps to the spec
 * (a missing non-null field nulls its parents); a client that sends `onError: "NULL"` gets the
 * posts with null likes fields and an error for each, naming the subgraph and the path.
 */
let stack: TestStack;
let author: string;
const posts: string[] = [];

before(async () => {
  stack = await startStack({ captureLogs: true });
  author = uid('partial');
  for (const caption of ['first', 'second', 'third'])
    posts.push((await createPost(stack, author, { caption })).id);
  ok(
    await stack.gql(
      'mutation($id: ID!) { likePost(postId: $id) { likeCount } }',
      { id: posts[0] },
      { as: author },
    ),
  );
  ok(
    await stack.gql(
      'mutation($id: ID!) { addComment(postId: $id, body: "still here") { id } }',
      { id: posts[0] },
      { as: author },
    ),
  );
});

after(async () => {
  await stack.stop();
});

const FEED = `query Feed {
  feed(first: 10) {
    edges { node { id caption author { id } commentCount likeCount viewerHasLiked } }
  }
}`;

const POST = `query Post($id: ID!) {
  post(id: $id) {
    id caption likeCount viewerHasLiked commentCount
    comments(first: 5) { edges { node { body } } }
  }
}`;

type Errors = NonNullable<GraphQLResult['errors']>;
type CodedError = Errors[number] & {
  extensions?: { code?: string; subgraph?: string; responsePath?: string };
};

/** POST /graphql with `onError` in the body, as the error-behaviors proposal puts it. */
async function gqlWith(
  onError: unknown,
  query: string,
  variables: Record<string, unknown> = {},
  requestId = uid('request'),
) {
  const response = await fetch(stack.gatewayUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-request-id': requestId,
      authorization: `Bearer ${await stack.token(author)}`,
    },
    body: JSON.stringify({ query, variables, onError }),
  });
  const body = (await response.json()) as { data?: any; errors?: CodedError[] };
  return { status: response.status, data: body.data, errors: body.errors ?? [] };
}

test('with every subgraph up, onError: "NULL" changes nothing', async () => {
  const result = await gqlWith('NULL', FEED);
  assert.deepEqual(result.errors, []);
  const liked = result.data.feed.edges.find((e: any) => e.node.id === posts[0]).node;
  assert.equal(liked.likeCount, 1);
  assert.equal(liked.viewerHasLiked, true);
  assert.equal(liked.commentCount, 1);
});

test('an unknown onError is a request error, HTTP 400', async () => {
  const result = await gqlWith('IGNORE', FEED);
  assert.equal(result.status, 400);
  assert.equal(result.errors[0]?.extensions?.code, 'BAD_REQUEST');
});

test('likes stopped: the feed returns its posts with an error for each likes field (onError NULL); by default the spec nulls the feed, with SUBGRAPH_UNAVAILABLE; never a 500', async () => {
  await stack.subgraphs.likes.stop();

  const requestId = uid('feed-request');
  const partial = await gqlWith('NULL', FEED, {}, requestId);
  assert.equal(partial.status, 200);
  // The gateway logs the outage once per request, with its cause, however many fields it empties.
  const warnings = stack.logs.filter(
    (line) => line.requestId === requestId && line.msg === 'subgraph unavailable',
  );
  assert.equal(warnings.length, 1);
  assert.equal(warnings[0]?.subgraph, 'likes');
  assert.ok(warnings[0]?.err, 'the cause is logged');
  const nodes = partial.data.feed.edges.map((e: any) => e.node);
  assert.deepEqual(
    nodes.map((node: any) => node.id),
    [...posts].reverse(),
  );
  for (const node of nodes) {
    assert.equal(node.author.id, author);
    assert.equal(node.likeCount, null);
    assert.equal(node.viewerHasLiked, null);
  }
  assert.equal(nodes.find((node: any) => node.id === posts[0]).commentCount, 1);
  assert.deepEqual(
    partial.errors.map((error) => [error.path?.join('.'), error.extensions?.code]).sort(),
    nodes
      .flatMap((_node: unknown, i: number) => [
        [`feed.edges.${i}.node.likeCount`, 'SUBGRAPH_UNAVAILABLE'],
        [`feed.edges.${i}.node.viewerHasLiked`, 'SUBGRAPH_UNAVAILABLE'],
      ])
      .sort(),
  );
  for (const error of partial.errors) {
    assert.equal(error.extensions?.subgraph, 'likes');
    assert.match(
      error.message,
      /likes subgraph is unavailable: no Post\.(likeCount|viewerHasLiked)/,
    );
  }

  const strict = await stack.gql(FEED, {}, { as: author });
  assert.equal(strict.status, 200);
  assert.equal(strict.data, null, 'feed is non-null all the way up: the spec nulls data');
  const [error] = (strict.errors ?? []) as CodedError[];
  assert.equal(error?.extensions?.code, 'SUBGRAPH_UNAVAILABLE');
  assert.equal(error?.extensions?.subgraph, 'likes');
  assert.equal(error?.extensions?.responsePath, 'feed.edges.@.node');
  assert.equal(error?.message, 'The likes subgraph is unavailable');

  // Fields that do not touch likes are served as usual, in either mode.
  const withoutLikes = ok(
    await stack.gql(
      '{ feed(first: 10) { edges { node { id commentCount } } } }',
      {},
      { as: author },
    ),
  );
  assert.equal(withoutLikes.feed.edges.length, 3);
});

test('likes stopped, over the WebSocket: onError is read from the subscribe payload as from an HTTP body', async () => {
  const client = createClient({
    url: stack.gatewayUrl.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${await stack.token(author)}` },
    retryAttempts: 0,
  });
  const run = (payload: Record<string, unknown>) =>
    new Promise<{ data?: any; errors?: readonly CodedError[] }>((resolve) => {
      let last: { data?: any; errors?: readonly CodedError[] } = {};
      client.subscribe(payload as never, {
        next: (value) => {
          last = value as typeof last;
        },
        error: (error) => resolve({ errors: error as CodedError[] }),
        complete: () => resolve(last),
      });
    });
  try {
    const partial = await run({ query: FEED, onError: 'NULL' });
    const nodes = partial.data.feed.edges.map((e: any) => e.node);
    assert.equal(nodes.length, 3);
    for (const node of nodes) assert.equal(node.likeCount, null);
    assert.ok(partial.errors?.every((e) => e.extensions?.code === 'SUBGRAPH_UNAVAILABLE'));
    assert.equal(partial.errors?.length, 6);
    // Without it, the spec's propagation: the feed itself is null.
    assert.equal((await run({ query: FEED })).data?.feed ?? null, null);
    const refused = await run({ query: FEED, onError: 'IGNORE' });
    assert.equal(refused.errors?.[0]?.extensions?.code, 'BAD_REQUEST');
  } finally {
    await client.dispose();
  }
});

test('likes stopped: post detail keeps its post and comments, with errors for its likes fields', async () => {
  const partial = await gqlWith('NULL', POST, { id: posts[0] });
  assert.equal(partial.status, 200);
  assert.deepEqual(partial.data.post, {
    id: posts[0],
    caption: 'first',
    likeCount: null,
    viewerHasLiked: null,
    commentCount: 1,
    comments: { edges: [{ node: { body: 'still here' } }] },
  });
  assert.deepEqual(
    partial.errors.map((error) => [error.path?.join('.'), error.extensions?.subgraph]).sort(),
    [
      ['post.likeCount', 'likes'],
      ['post.viewerHasLiked', 'likes'],
    ],
  );

  // By default `post` (nullable) is where the null stops.
  const strict = await stack.gql(POST, { id: posts[0] }, { as: author });
  assert.equal(strict.status, 200);
  assert.deepEqual(strict.data, { post: null });
  assert.equal((strict.errors?.[0] as CodedError).extensions?.subgraph, 'likes');

  // HALT: no data at all at the first error.
  const halted = await gqlWith('HALT', POST, { id: posts[0] });
  assert.equal(halted.data, null);
  assert.equal(halted.errors.length, 1);
  assert.equal(halted.errors[0]?.extensions?.code, 'SUBGRAPH_UNAVAILABLE');
});

test('likes stopped: a like is refused with SUBGRAPH_UNAVAILABLE, not a 500', async () => {
  const result = await stack.gql(
    'mutation($id: ID!) { likePost(postId: $id) { likeCount } }',
    { id: posts[1] },
    { as: author },
  );
  assert.equal(result.status, 200);
  assert.equal(result.data, null);
  assert.equal((result.errors?.[0] as CodedError).extensions?.code, 'SUBGRAPH_UNAVAILABLE');
});
