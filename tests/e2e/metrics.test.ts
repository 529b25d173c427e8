import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ok, startStack, type TestStack } from '../helpers/stack.js';
import { sample } from '../helpers/metrics.js';
import { until, wsClient } from '../helpers/ws.js';

let stack: TestStack;
before(async () => {
  stack = await startStack();
});
after(() => stack.stop());

const CREATE =
  'mutation { createPost(input: { media: [{ kind: PHOTO, url: "https://cdn.example.com/m.jpg" }] }) { id } }';

test('the gateway counts operations by name, subgraph fetches and HTTP requests, and process metrics', async () => {
  const { createPost } = ok(await stack.gql(CREATE, {}, { as: 'metrics-author' }));
  const query =
    'query PostForMetrics($id: ID!) { post(id: $id) { caption likeCount commentCount } }';
  const operation = { operation: 'PostForMetrics', type: 'query', outcome: 'ok' };
  const before = await sample(
    stack.gatewayUrl,
    'graphql_operation_duration_seconds_count',
    operation,
  );
  const fetchesBefore = await sample(stack.gatewayUrl, 'subgraph_fetch_duration_seconds_count', {
    subgraph: 'likes',
  });
  for (let i = 0; i < 3; i++) ok(await stack.gql(query, { id: createPost.id }));
  assert.equal(
    await sample(stack.gatewayUrl, 'graphql_operation_duration_seconds_count', operation),
    before + 3,
  );
  assert.equal(
    (await sample(stack.gatewayUrl, 'subgraph_fetch_duration_seconds_count', {
      subgraph: 'likes',
      outcome: 'ok',
    })) - fetchesBefore,
    3,
  );
  assert.ok(
    (await sample(stack.gatewayUrl, 'http_request_duration_seconds_count', {
      route: '/graphql',
      status: '200',
    })) >= 4,
  );
  assert.ok((await sample(stack.gatewayUrl, 'process_cpu_user_seconds_total')) > 0);
  assert.ok(
    (await sample(stack.gatewayUrl, 'graphql_operation_duration_seconds_count', {
      service: 'gateway',
    })) > 0,
  );
});

test('subgraphs count DataLoader batches and published events', async () => {
  const { createPost } = ok(await stack.gql(CREATE, {}, { as: 'metrics-author' }));
  const batches = () =>
    sample(stack.urls.likes, 'dataloader_batch_size_count', { loader: 'likeCounts' });
  const published = () =>
    sample(stack.urls.likes, 'events_total', {
      topic: 'likes',
      direction: 'published',
      outcome: 'ok',
    });
  const [batchesBefore, publishedBefore] = [await batches(), await published()];
  ok(
    await stack.gql(
      'mutation($id: ID!) { likePost(postId: $id) { likeCount } }',
      { id: createPost.id },
      { as: 'metrics-liker' },
    ),
  );
  // The mutation answers with its own recount, so the count is loaded by the read that follows.
  ok(
    await stack.gql(
      'query($id: ID!) { post(id: $id) { likeCount } }',
      { id: createPost.id },
      { as: 'metrics-liker' },
    ),
  );
  assert.equal(await batches(), batchesBefore + 1);
  assert.equal(await published(), publishedBefore + 1);
});

test('the gateway gauges WebSocket connections, subscriptions and engine subscriptions', async () => {
  const { createPost } = ok(await stack.gql(CREATE, {}, { as: 'metrics-author' }));
  const gauges = async () => ({
    sockets: await sample(stack.gatewayUrl, 'websocket_connections'),
    subscriptions: await sample(stack.gatewayUrl, 'graphql_subscriptions_active'),
    engine: await sample(stack.gatewayUrl, 'pubsub_engine_subscriptions'),
  });
  const before = await gauges();
  const client = wsClient(stack.gatewayUrl, await stack.token('metrics-watcher'));
  const received = client.subscribe(
    'subscription($ids: [ID!]!) { postCountsChanged(postIds: $ids) { likeCount } }',
    { ids: [createPost.id] },
  );
  await until('the current counts', () => received.results.length === 1);
  assert.deepEqual(await gauges(), {
    sockets: before.sockets + 1,
    subscriptions: before.subscriptions + 1,
    engine: before.engine + 2,
  });
  await client.close();
  let now = await gauges();
  for (let i = 0; i < 50 && now.sockets !== before.sockets; i++) now = await gauges();
  assert.deepEqual(now, before);
});
