import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ensureNats, freePort } from '../../scripts/stack/services.js';
import { ok, startStack, type TestStack } from '../helpers/stack.js';
import { until, wsClient } from '../helpers/ws.js';
import { readiness } from './support.js';

let stack: TestStack;
let natsUrl: string;
let nats: Awaited<ReturnType<typeof ensureNats>>;

before(async () => {
  natsUrl = `nats://127.0.0.1:${await freePort()}`;
  nats = await ensureNats(natsUrl);
  stack = await startStack({ engine: 'nats', natsUrl });
});

after(async () => {
  await stack.stop();
  await nats.stop();
});

test('while NATS is away readiness is 503; once it is back, readiness returns and new likes reach subscribers, with no restart', async () => {
  const { createPost } = ok(
    await stack.gql(
      'mutation { createPost(input: { media: [{ kind: PHOTO, url: "https://cdn.example.com/a.jpg" }] }) { id } }',
      {},
      { as: 'restart-author' },
    ),
  );
  const postId = createPost.id as string;
  const like = (user: string) =>
    stack.gql(
      'mutation($id: ID!) { likePost(postId: $id) { likeCount } }',
      { id: postId },
      { as: user },
    );
  const client = wsClient(stack.gatewayUrl, await stack.token('restart-watcher'));
  const received = client.subscribe(
    'subscription($ids: [ID!]!) { postCountsChanged(postIds: $ids) { likeCount } }',
    { ids: [postId] },
  );
  const likeCount = () =>
    received.results.at(-1)?.data?.postCountsChanged.likeCount as number | undefined;
  await until('the current counts', () => likeCount() === 0);
  ok(await like('before-restart'));
  await until('the first like', () => likeCount() === 1);

  await nats.stop();
  // Writes go on while NATS is away; their events may be lost, the data is not.
  assert.equal(ok(await like('during-outage')).likePost.likeCount, 2);
  // Readiness says so meanwhile, and says so again when it is back.
  for (const url of [stack.gatewayUrl, stack.urls.likes])
    assert.equal(await readiness(url, 503), 503, url);
  nats = await ensureNats(natsUrl);
  for (const url of [stack.gatewayUrl, stack.urls.likes])
    assert.equal(await readiness(url, 200), 200, url);

  let users = 0;
  await until(
    'a like after the restart to reach the subscriber',
    () => (likeCount() ?? 0) >= 3,
    30_000,
    async () => {
      ok(await like(`after-restart-${users++}`));
    },
  );
  await client.close();
});
