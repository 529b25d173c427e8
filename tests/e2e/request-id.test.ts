import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { ok, startStack, type TestStack } from '../helpers/stack.js';

let stack: TestStack;
before(async () => {
  stack = await startStack({ captureLogs: true });
});
after(() => stack.stop());

const CREATE =
  'mutation { createPost(input: { media: [{ kind: PHOTO, url: "https://cdn.example.com/q.jpg" }] }) { id } }';
const linesOf = (requestId: string) => stack.logs.filter((line) => line.requestId === requestId);

test('a request id sent to the gateway is echoed and appears in the log lines of every service it reaches', async () => {
  const { createPost } = ok(await stack.gql(CREATE, {}, { as: 'traced-author' }));
  const requestId = `trace-${Date.now()}`;
  // likePost: the gateway, likes, feed (asked by likes whether the post exists), then feed again.
  const result = await stack.gql(
    'mutation($id: ID!) { likePost(postId: $id) { likeCount author { id } } }',
    { id: createPost.id },
    { as: 'traced-liker', headers: { 'x-request-id': requestId } },
  );
  ok(result);
  assert.equal(result.headers.get('x-request-id'), requestId);
  await delay(50);
  const services = new Set(linesOf(requestId).map((line) => line.service));
  assert.deepEqual([...services].sort(), ['feed', 'gateway', 'likes']);
});

test('without one the gateway makes one up, and passes it on just the same', async () => {
  const result = await stack.gql('{ viewer { id } }', {}, { as: 'untraced' });
  const requestId = result.headers.get('x-request-id') ?? '';
  assert.match(requestId, /^[0-9a-f-]{36}$/);
  await delay(50);
  assert.deepEqual([...new Set(linesOf(requestId).map((line) => line.service))].sort(), [
    'feed',
    'gateway',
  ]);
});

test('log lines carry no token', async () => {
  const token = await stack.token('secretive');
  ok(await stack.gql('{ viewer { id } }', {}, { token }));
  await delay(50);
  assert.ok(!JSON.stringify(stack.logs).includes(token));
});
