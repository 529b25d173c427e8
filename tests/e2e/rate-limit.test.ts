import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { makeImage, uploadTo } from '../helpers/media.js';
import { codes, ok, startStack, type TestStack } from '../helpers/stack.js';
import { until, wsClient } from '../helpers/ws.js';

let stack: TestStack;
let urls: string[];
const run = randomBytes(3).toString('hex');

before(async () => {
  stack = await startStack({
    rateLimits: { perIpPerMinute: 10_000, perUserPerMinute: 8, mutationsPerUserPerMinute: 3 },
  });
  // Budgets live in Redis, so a second gateway process shares them.
  urls = [stack.gatewayUrl, (await stack.spawnGateway()).url];
});
after(() => stack.stop());

const CREATE =
  'mutation { createPost(input: { media: [{ kind: PHOTO, url: "https://cdn.example.com/r.jpg" }] }) { id } }';

test('mutations past the per-user budget are RATE_LIMITED with a Retry-After, across gateways', async () => {
  const user = `writer-${run}`;
  for (let i = 0; i < 3; i++) ok(await stack.gql(CREATE, {}, { as: user, url: urls[i % 2] }));
  const refused = await stack.gql(CREATE, {}, { as: user, url: urls[1] });
  assert.equal(refused.status, 429);
  assert.deepEqual(codes(refused), ['RATE_LIMITED']);
  const retryAfter = Number(refused.headers.get('retry-after'));
  assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
  assert.equal((refused.errors?.[0]?.extensions as { retryAfter?: number }).retryAfter, retryAfter);
  // Another user's budget is untouched.
  ok(await stack.gql(CREATE, {}, { as: `other-writer-${run}`, url: urls[1] }));
});

test('queries past the per-user budget are RATE_LIMITED before anything runs', async () => {
  const user = `reader-${run}`;
  for (let i = 0; i < 8; i++)
    ok(await stack.gql('{ viewer { id } }', {}, { as: user, url: urls[i % 2] }));
  const refused = await stack.gql('{ viewer { id } }', {}, { as: user, url: urls[0] });
  assert.deepEqual(codes(refused), ['RATE_LIMITED']);
  assert.equal(refused.data ?? null, null);
});

test('uploads spend the mutation budget: past it, 429 with Retry-After before the feed is called', async () => {
  const user = `uploader-${run}`;
  const png = await makeImage(8, 8, 'png');
  for (let i = 0; i < 3; i++) {
    assert.equal((await uploadTo(stack, png, { as: user, raw: 'image/png' })).status, 201);
  }
  const refused = await uploadTo(stack, png, { as: user, raw: 'image/png' });
  assert.equal(refused.status, 429);
  assert.equal(refused.body.error?.code, 'RATE_LIMITED');
});

test('starting a subscription spends the budget: past it, RATE_LIMITED for that operation only', async () => {
  const user = `subscriber-${run}`;
  const client = wsClient(urls[1] as string, await stack.token(user));
  let closed = false;
  client.client.on('closed', () => {
    closed = true;
  });
  const postId = ok(await stack.gql(CREATE, {}, { as: `poster-${run}` })).createPost.id;
  const COUNTS = 'subscription($ids: [ID!]!) { postCountsChanged(postIds: $ids) { likeCount } }';
  // One subscription held throughout, so the lazy client keeps its socket between the others.
  const held = client.subscribe(COUNTS, { ids: [postId] });
  await until('the held subscription', () => held.results.length === 1);
  for (let i = 0; i < 7; i++) {
    const received = client.subscribe(COUNTS, { ids: [postId] });
    await until('the current counts', () => received.results.length === 1);
    received.stop();
  }
  const refused = client.subscribe(COUNTS, { ids: [postId] });
  await until('the refusal', () => refused.errors !== undefined);
  assert.equal(refused.errors?.[0]?.extensions?.code, 'RATE_LIMITED');
  assert.equal(closed, false, 'the socket stays open');
  assert.equal(held.errors, undefined, 'and the held subscription with it');
  await client.close();
});
