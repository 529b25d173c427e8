import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { multipartSubscribe } from '../helpers/multipart.js';
import { ok, startStack, type TestStack } from '../helpers/stack.js';
import { until, wsClient } from '../helpers/ws.js';

const COUNTS = 'subscription($ids: [ID!]!) { postCountsChanged(postIds: $ids) { likeCount } }';
const run = randomBytes(3).toString('hex');
let stack: TestStack;
let url: string;
let postId: string;

before(async () => {
  stack = await startStack({ subscriptions: { maxEngineSubscriptions: 10 } });
  url = stack.gatewayUrl;
  postId = ok(
    await stack.gql(
      'mutation { createPost(input: { caption: "ops", media: [{ kind: PHOTO, url: "https://cdn.example.com/o.jpg" }] }) { id } }',
      {},
      { as: `author-${run}` },
    ),
  ).createPost.id;
});
after(() => stack.stop());

test('a subscription over HTTP without the multipart accept header is a 406 naming both transports', async () => {
  const refused = await stack.gql(
    'subscription($id: ID!) { commentAdded(postId: $id) { id } }',
    { id: postId },
    { as: `http-plain-${run}` },
  );
  assert.equal(refused.status, 406);
  assert.equal(refused.errors?.[0]?.extensions?.code, 'BAD_REQUEST');
  assert.match(refused.errors?.[0]?.message ?? '', /WebSocket.*multipart\/mixed;subscriptionSpec/);
});

test('a subscription needs a signed-in viewer, whatever the transport', async () => {
  const response = await multipartSubscribe(stack.gatewayUrl, undefined, COUNTS, { ids: [postId] });
  assert.equal(response.status, 401);
  const body = (await response.json()) as { errors: { extensions: { code: string } }[] };
  assert.equal(body.errors[0]?.extensions.code, 'UNAUTHENTICATED');
});

test('unknown variables and bad arguments are BAD_USER_INPUT before anything starts', async () => {
  const client = wsClient(url, await stack.token(`args-${run}`));
  const badVariable = client.subscribe(COUNTS, { ids: [{ not: 'an id' }] });
  const malformed = client.subscribe(
    'subscription($id: ID!) { commentAdded(postId: $id) { id } }',
    { id: 'nope' },
  );
  await until('the refusals', () => !!badVariable.errors && !!malformed.errors);
  assert.equal(malformed.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
  assert.equal(badVariable.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
  // A post id is checked before it names an engine subject ("a.>" would be a NATS wildcard).
  const wildcard = client.subscribe(COUNTS, { ids: [postId, 'a.>'] });
  await until('the wildcard refused', () => !!wildcard.errors);
  assert.equal(wildcard.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
  // 101 ids are too many, repeats or not, as for the postCounts query.
  const repeated = client.subscribe(COUNTS, { ids: Array.from({ length: 101 }, () => postId) });
  await until('the repeats refused', () => !!repeated.errors);
  assert.equal(repeated.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
  await client.close();
});

test('subscriptions needing more engine subscriptions than the process allows are RATE_LIMITED', async () => {
  const client = wsClient(url, await stack.token(`engine-${run}`));
  const ids = Array.from({ length: 6 }, (_, i) => `${'0'.repeat(22)}${String(i).padStart(3, '0')}`);
  const first = client.subscribe(COUNTS, { ids: ids.slice(0, 4) });
  await until('eight engine subscriptions', () => first.results.length === 4);
  const tooMany = client.subscribe(COUNTS, { ids: ids.slice(2, 6) });
  await until('the refusal', () => tooMany.errors !== undefined);
  assert.equal(tooMany.errors?.[0]?.extensions?.code, 'RATE_LIMITED');
  // Posts already watched cost nothing more.
  const same = client.subscribe(COUNTS, { ids: ids.slice(0, 4) });
  await until('a subscription on watched posts', () => same.results.length === 4);
  await client.close();
});
