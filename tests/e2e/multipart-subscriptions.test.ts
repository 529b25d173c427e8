import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { signDevToken } from '../../platform/auth.js';
import { multipartSubscribe } from '../helpers/multipart.js';
import { ok, startStack, type TestStack } from '../helpers/stack.js';
import { until } from '../helpers/ws.js';

let stack: TestStack;
let postId: string;
const run = randomBytes(3).toString('hex');

before(async () => {
  stack = await startStack();
  postId = ok(
    await stack.gql(
      'mutation { createPost(input: { caption: "over http", media: [{ kind: PHOTO, url: "https://cdn.example.com/m.jpg" }] }) { id } }',
      {},
      { as: `author-${run}` },
    ),
  ).createPost.id;
});
after(() => stack.stop());

const COMMENTS = 'subscription($id: ID!) { commentAdded(postId: $id) { id } }';

/** Apollo Client with nothing but an HttpLink: no split link routes subscriptions elsewhere. */
async function apolloClient(user: string) {
  return new ApolloClient({
    cache: new InMemoryCache(),
    link: ApolloLink.from([
      new HttpLink({
        uri: stack.gatewayUrl,
        headers: { authorization: `Bearer ${await stack.token(user)}` },
      }),
    ]),
  });
}

const COUNTS = gql`
  subscription Counts($ids: [ID!]!) {
    postCountsChanged(postIds: $ids) {
      postId
      likeCount
      post {
        caption
      }
    }
  }
`;

test('Apollo Client subscribes over plain HTTP (multipart): current counts, then each change', async () => {
  const client = await apolloClient(`http-watcher-${run}`);
  const results: { data?: any; error?: unknown }[] = [];
  const engineBefore = stack.gateways[0]!.engineSubscriptions();
  const subscription = client.subscribe({ query: COUNTS, variables: { ids: [postId] } }).subscribe({
    next: (result) => results.push(result),
    error: (error) => results.push({ error }),
  });
  await until('the current counts', () => results.length === 1);
  assert.deepEqual(results[0]?.data?.postCountsChanged, {
    __typename: 'PostCounts',
    postId,
    likeCount: 0,
    post: { __typename: 'Post', caption: 'over http' },
  });
  ok(
    await stack.gql(
      'mutation($id: ID!) { likePost(postId: $id) { id } }',
      { id: postId },
      { as: `http-liker-${run}` },
    ),
  );
  await until('the push', () => results.at(-1)?.data?.postCountsChanged.likeCount === 1);
  assert.ok(results.every((result) => !result.error));
  assert.equal(stack.gateways[0]!.engineSubscriptions(), engineBefore + 2);
  subscription.unsubscribe();
  await until(
    'the engine subscriptions to go',
    () => stack.gateways[0]!.engineSubscriptions() === engineBefore,
  );
  client.stop();
});

test('the stream sends a {} heartbeat part every 5 s, and refusals come back as JSON errors', async () => {
  const token = await stack.token(`http-raw-${run}`);
  const controller = new AbortController();
  const response = await multipartSubscribe(
    stack.gatewayUrl,
    token,
    COMMENTS,
    { id: postId },
    controller.signal,
  );
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /multipart\/mixed;boundary="graphql"/);
  const reader = response.body!.getReader();
  let text = '';
  const started = Date.now();
  while ((text.match(/\r\n\r\n\{\}\r\n--graphql/g) ?? []).length < 2) {
    const { value } = await reader.read();
    text += new TextDecoder().decode(value);
  }
  assert.ok(Date.now() - started >= 4_000, 'the second heartbeat comes about 5 s after the first');
  controller.abort();

  const refused = await multipartSubscribe(stack.gatewayUrl, token, COMMENTS, { id: 'not-a-post' });
  const body = (await refused.json()) as { errors: { extensions: { code: string } }[] };
  assert.equal(body.errors[0]?.extensions.code, 'BAD_USER_INPUT', JSON.stringify(body));
  assert.equal(refused.status, 400);
});

test('a stream whose token expires ends with UNAUTHENTICATED, as the WebSocket closes with 4401', async () => {
  const token = await signDevToken(
    `http-expiring-${run}`,
    undefined,
    Math.floor(Date.now() / 1_000) + 2,
  );
  const response = await multipartSubscribe(stack.gatewayUrl, token, COMMENTS, { id: postId });
  assert.equal(response.status, 200);
  const text = await response.text(); // ends when the server ends the stream
  assert.match(
    text,
    /"payload":null,"errors":\[\{"message":"Token expired","extensions":\{"code":"UNAUTHENTICATED"\}\}\]/,
  );
  assert.ok(text.endsWith('--graphql--\r\n'));
});
