import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { multipartSubscribe } from '../helpers/multipart.js';
import { ok, startStack, type TestStack } from '../helpers/stack.js';
import { closeCodeFor, until, wsClient } from '../helpers/ws.js';

const COUNTS = 'subscription($ids: [ID!]!) { postCountsChanged(postIds: $ids) { likeCount } }';
const run = randomBytes(3).toString('hex');

/** Runs one query or mutation over the socket: its results and its error message, if any. */
function runOver(client: ReturnType<typeof wsClient>, query: string, variables = {}) {
  const received = client.subscribe(query, variables);
  return until('the operation to finish', () => received.completed || !!received.errors).then(
    () => received,
  );
}

describe('the WebSocket', () => {
  let stack: TestStack;
  let postId: string;
  before(async () => {
    stack = await startStack();
    postId = ok(
      await stack.gql(
        'mutation { createPost(input: { caption: "ws", media: [{ kind: PHOTO, url: "https://cdn.example.com/w.jpg" }] }) { id } }',
        {},
        { as: `author-${run}` },
      ),
    ).createPost.id;
  });
  after(() => stack.stop());

  test("an operation's errors are that operation's messages; the socket and its other subscriptions live on", async () => {
    const client = wsClient(stack.gatewayUrl, await stack.token(`errors-${run}`));
    let closed = false;
    client.client.on('closed', () => {
      closed = true;
    });
    const watching = client.subscribe(COUNTS, { ids: [postId] });
    await until('the current counts', () => watching.results.length === 1);

    const comment = ok(
      await stack.gql(
        'mutation($id: ID!) { addComment(postId: $id, body: "mine") { id } }',
        { id: postId },
        { as: `commenter-${run}` },
      ),
    ).addComment.id;
    // FORBIDDEN, from a subgraph: a result with data null and the error, then complete.
    const forbidden = await runOver(
      client,
      'mutation($id: ID!) { editComment(id: $id, body: "not mine") { id } }',
      { id: comment },
    );
    assert.equal(forbidden.results[0]?.errors?.[0]?.extensions?.code, 'FORBIDDEN');
    assert.equal(forbidden.completed, true);
    // BAD_USER_INPUT before execution (variables): the operation's error message.
    const badInput = await runOver(client, 'query($id: ID!) { post(id: $id) { id } }', {
      id: { not: 'an id' },
    });
    assert.equal(badInput.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
    // A validation error, and an internal path never leaks: codes only.
    const invalid = await runOver(client, '{ nope }');
    assert.equal(invalid.errors?.[0]?.extensions?.code, 'GRAPHQL_VALIDATION_FAILED');
    const malformed = await runOver(client, '{ post(');
    assert.equal(malformed.errors?.[0]?.extensions?.code, 'GRAPHQL_PARSE_FAILED');
    // A query that works, on the same socket.
    const fine = await runOver(client, 'query($id: ID!) { post(id: $id) { caption } }', {
      id: postId,
    });
    assert.deepEqual(fine.results, [{ data: { post: { caption: 'ws' } } }]);

    ok(
      await stack.gql(
        'mutation($id: ID!) { likePost(postId: $id) { id } }',
        { id: postId },
        { as: `liker-${run}` },
      ),
    );
    await until(
      'the push after all that',
      () => watching.results.at(-1)?.data?.postCountsChanged.likeCount === 1,
    );
    assert.equal(closed, false, 'the socket stayed open');
    await client.close();
  });

  test('a persisted query is served over the socket by its hash alone', async () => {
    const client = wsClient(stack.gatewayUrl, await stack.token(`apq-${run}`));
    const query = `{ q${randomBytes(4).toString('hex')}: post(id: "${postId}") { caption } }`;
    const extensions = {
      persistedQuery: { version: 1, sha256Hash: createHash('sha256').update(query).digest('hex') },
    };
    const send = (text: string) =>
      new Promise<unknown>((resolve) => {
        client.client.subscribe(
          { query: text, extensions },
          { next: resolve, error: (errors) => resolve({ errors }), complete: () => undefined },
        );
      });
    const unknown = (await send('')) as { errors: { extensions: { code: string } }[] };
    assert.equal(unknown.errors[0]?.extensions.code, 'PERSISTED_QUERY_NOT_FOUND');
    const answer = { data: { [query.slice(2, 11)]: { caption: 'ws' } } };
    assert.deepEqual(await send(query), answer);
    // Registration is written in the background.
    await until('the query registered', async () => 'data' in ((await send('')) as object));
    assert.deepEqual(await send(''), answer);
    await client.close();
  });

  test('a message over the body limit closes the socket with 1009 before it is parsed', async () => {
    const token = await stack.token(`huge-${run}`);
    const code = await new Promise<number>((resolve) => {
      const socket = new WebSocket(stack.gatewayUrl.replace(/^http/, 'ws'), 'graphql-transport-ws');
      socket.on('open', () =>
        socket.send(
          JSON.stringify({
            type: 'connection_init',
            payload: { authorization: `Bearer ${token}` },
          }),
        ),
      );
      socket.on('message', () => {
        const query = `subscription { commentAdded(postId: "${postId}") { id } } # ${'x'.repeat(2_000_000)}`;
        socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query } }));
      });
      socket.on('close', (closeCode) => resolve(closeCode));
      socket.on('error', () => undefined);
    });
    assert.equal(code, 1009);
  });
});

describe('caps on sockets', () => {
  let stack: TestStack;
  let url: string;
  before(async () => {
    stack = await startStack({
      subscriptions: { maxConnectionsPerUser: 2, maxConnectionsPerIp: 4 },
    });
    url = stack.gatewayUrl;
  });
  after(() => stack.stop());

  test('a user past their streaming connections is closed with 1008 (or 429 over HTTP); an address past its sockets gets 429', async () => {
    const token = await stack.token(`sockets-${run}`);
    const init = { authorization: `Bearer ${token}` };
    const open = async () => {
      const socket = new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws');
      await new Promise<void>((resolve, reject) => {
        socket.on('open', () =>
          socket.send(JSON.stringify({ type: 'connection_init', payload: init })),
        );
        socket.on('message', () => resolve());
        socket.on('error', reject);
      });
      return socket;
    };
    const first = [await open(), await open()];
    const third = await closeCodeFor(url, init);
    assert.deepEqual(third, { code: 1008, acked: false });
    // A subscription over HTTP is a streaming connection too: no way around the cap.
    const overHttp = await multipartSubscribe(
      url,
      token,
      'subscription($id: ID!) { commentAdded(postId: $id) { id } }',
      { id: '0'.repeat(25) },
    );
    assert.equal(overHttp.status, 429);
    const refusal = (await overHttp.json()) as { errors: { extensions: { code: string } }[] };
    assert.equal(refusal.errors[0]?.extensions.code, 'RATE_LIMITED');
    // Two more sockets from another user fill the address's four.
    const other = { authorization: `Bearer ${await stack.token(`sockets-other-${run}`)}` };
    const more = [
      new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws'),
      new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws'),
    ];
    await Promise.all(more.map((socket) => new Promise((resolve) => socket.once('open', resolve))));
    const refused = await new Promise<number>((resolve) => {
      const socket = new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws');
      socket.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      socket.on('error', () => undefined);
    });
    assert.equal(refused, 429);
    for (const socket of [...first, ...more]) socket.close();
    // Freed: the user may connect again.
    await until('the sockets to be counted out', async () => {
      const again = await closeCodeFor(url, other, 500).catch(() => ({ code: 0, acked: true }));
      return again.acked;
    });
  });
});
