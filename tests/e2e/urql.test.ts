import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { Client, fetchExchange } from '@urql/core';
import { ok, startStack, type TestStack } from '../helpers/stack.js';
import { until } from '../helpers/ws.js';
import { createPost } from './support.js';

/**
 * urql as it comes: its `fetchExchange` with default options sends queries as GET (within the
 * URL limit) and mutations as POST; with `fetchSubscriptions` it sends subscriptions over HTTP,
 * accepting `text/event-stream, multipart/mixed`.
 */
let stack: TestStack;
let postId: string;
const run = randomBytes(3).toString('hex');
before(async () => {
  stack = await startStack();
  postId = (await createPost(stack, `author-${run}`, { caption: 'urql' })).id;
});
after(() => stack.stop());

async function urql(user: string, options: { fetchSubscriptions?: boolean } = {}) {
  return new Client({
    url: stack.gatewayUrl,
    exchanges: [fetchExchange],
    fetchOptions: { headers: { authorization: `Bearer ${await stack.token(user)}` } },
    ...options,
  });
}

test('urql with its defaults: a query by GET, a mutation by POST', async () => {
  const client = await urql(`reader-${run}`);
  const query = await client
    .query('query Post($id: ID!) { post(id: $id) { id caption likeCount } }', { id: postId })
    .toPromise();
  assert.equal(query.error, undefined);
  assert.equal(query.operation.context.preferGetMethod, 'within-url-limit');
  assert.deepEqual(query.data, { post: { id: postId, caption: 'urql', likeCount: 0 } });
  const liked = await client
    .mutation('mutation Like($id: ID!) { likePost(postId: $id) { likeCount viewerHasLiked } }', {
      id: postId,
    })
    .toPromise();
  assert.equal(liked.error, undefined);
  assert.deepEqual(liked.data, { likePost: { likeCount: 1, viewerHasLiked: true } });
});

test('urql with fetchSubscriptions: live counts over HTTP', async () => {
  const client = await urql(`watcher-${run}`, { fetchSubscriptions: true });
  const counts: number[] = [];
  const errors: unknown[] = [];
  const subscription = client
    .subscription(
      'subscription Counts($ids: [ID!]!) { postCountsChanged(postIds: $ids) { postId likeCount } }',
      { ids: [postId] },
    )
    .subscribe((result) => {
      if (result.error) errors.push(result.error.message);
      const pushed = result.data?.postCountsChanged?.likeCount;
      if (typeof pushed === 'number') counts.push(pushed);
    });
  try {
    await until('the current counts', () => counts.length > 0 || errors.length > 0);
    assert.deepEqual(errors, []);
    const before = counts.at(-1) as number;
    ok(
      await stack.gql(
        'mutation($id: ID!) { likePost(postId: $id) { id } }',
        { id: postId },
        { as: `fan-${run}` },
      ),
    );
    await until('the new count', () => counts.at(-1) === before + 1);
  } finally {
    subscription.unsubscribe();
  }
});
