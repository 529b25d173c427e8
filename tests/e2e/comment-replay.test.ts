import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ensureNats, freePort } from '../../scripts/stack/services.js';
import { ok, startStack, type TestStack } from '../helpers/stack.js';
import { until, wsClient } from '../helpers/ws.js';
import { createPost, readiness, uid } from './support.js';

let stack: TestStack;
let natsUrl: string;
let nats: Awaited<ReturnType<typeof ensureNats>>;

before(async () => {
  natsUrl = `nats://127.0.0.1:${await freePort()}`;
  nats = await ensureNats(natsUrl);
  // The repair pass announces what NATS missed: every second here.
  stack = await startStack({ engine: 'nats', natsUrl, repairIntervalMs: 1_000 });
});

after(async () => {
  await stack.stop();
  await nats.stop();
});

test('commentAdded delivers the comments posted while NATS was away, in order and once each', async () => {
  const author = uid('author');
  const post = await createPost(stack, author);
  const add = async (body: string) =>
    ok(
      await stack.gql(
        'mutation($id: ID!, $body: String!) { addComment(postId: $id, body: $body) { id } }',
        { id: post.id, body },
        { as: uid('c') },
      ),
    ).addComment.id as string;
  const client = wsClient(stack.gatewayUrl, await stack.token(uid('watcher')));
  const received = client.subscribe(
    'subscription($id: ID!) { commentAdded(postId: $id) { id body } }',
    { id: post.id },
  );
  const bodies = () =>
    received.results.map((result) => (result.data?.commentAdded as { body: string }).body);
  // The subscription is open once a comment gets through.
  let tries = 0;
  await until(
    'a first comment',
    () => bodies().length > 0,
    15_000,
    async () => {
      if (tries++ === 0) await add('before');
    },
  );

  await nats.stop();
  const during = ['during 1', 'during 2', 'during 3'];
  for (const body of during) await add(body);
  nats = await ensureNats(natsUrl);
  assert.equal(await readiness(stack.urls.comments, 200), 200);
  await until('the comments written meanwhile', () => bodies().length >= 4, 30_000);
  await add('after');
  await until('the comment after', () => bodies().includes('after'), 15_000);
  assert.deepEqual(bodies(), ['before', ...during, 'after']);
  await client.close();
  // The same announcements fed the author's notifications: none was lost with NATS.
  const comments = async () =>
    ok(
      await stack.gql(
        '{ notifications(first: 20) { edges { node { kind comment { body } } } } }',
        {},
        { as: author },
      ),
    ).notifications.edges.map(
      (edge: { node: { comment: { body: string } } }) => edge.node.comment.body,
    );
  await until('five comment notifications', async () => (await comments()).length === 5, 15_000);
  assert.deepEqual((await comments()).sort(), ['after', 'before', ...during].sort());
});
