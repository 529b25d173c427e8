import assert from 'node:assert/strict';
import { request, type IncomingMessage } from 'node:http';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { sample } from '../helpers/metrics.js';
import { multipartSubscribe } from '../helpers/multipart.js';
import { codes, ok, startStack, type TestStack } from '../helpers/stack.js';
import { until, wsClient, type WsClient } from '../helpers/ws.js';
import { createPost, uid } from './support.js';

/**
 * Answer size and slow readers on the streaming transports: every answer (a WebSocket query, a
 * deferred part, a subscription event, on either transport) is held to MAX_RESPONSE_BYTES as HTTP
 * answers are, and a client that stops reading is cut off once STREAM_MAX_BUFFERED_BYTES wait for
 * it. Both limits are small here, and answer sizes are set by how often a comment's body is
 * selected (aliases): 2 KB each.
 */
const CAP = 100_000;
const BUFFERED = 256_000;
const LONG = 'x'.repeat(2_000);

let stack: TestStack;
let author: string;
before(async () => {
  stack = await startStack({
    limits: { maxResponseBytes: CAP },
    subscriptions: { maxBufferedBytes: BUFFERED },
    captureLogs: true,
  });
  author = uid('stream-author');
});
after(() => stack.stop());

/** A comment's id and `copies` copies of its body: about copies × 2 KB for a long comment. */
function bodies(copies: number): string {
  return `id ${Array.from({ length: copies }, (_, i) => `b${i}: body`).join(' ')}`;
}

async function comment(postId: string, body: string): Promise<string> {
  return ok(
    await stack.gql(
      'mutation($id: ID!, $body: String!) { addComment(postId: $id, body: $body) { id } }',
      { id: postId, body },
      { as: author },
    ),
  ).addComment.id;
}

async function postWithLongComment(): Promise<string> {
  const { id } = await createPost(stack, author);
  await comment(id, LONG);
  return id;
}

/** The JSON parts of a multipart body, whole or so far. */
function partsOf(text: string): any[] {
  return text
    .split('\r\n--graphql')
    .map((segment) => segment.slice(segment.indexOf('\r\n\r\n') + 4).trim())
    .filter((json) => json.startsWith('{'))
    .map((json) => JSON.parse(json));
}

/** A multipart subscription read as it arrives. */
async function multipartReader(query: string, variables: Record<string, unknown>) {
  const controller = new AbortController();
  const response = await multipartSubscribe(
    stack.gatewayUrl,
    await stack.token(uid('http-reader')),
    query,
    variables,
    controller.signal,
  );
  assert.equal(response.status, 200);
  const reader = { text: '', parts: () => partsOf(reader.text), stop: () => controller.abort() };
  void (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>)
      reader.text += decoder.decode(chunk, { stream: true });
  })().catch(() => undefined);
  return reader;
}

const COMMENTS = (copies: number) =>
  `subscription($id: ID!) { commentAdded(postId: $id) { ${bodies(copies)} } }`;

function overCap(error: { message: string; extensions?: { code?: string } } | undefined) {
  assert.equal(error?.extensions?.code, 'QUERY_TOO_COMPLEX', JSON.stringify(error));
  assert.match(error?.message ?? '', new RegExp(`bytes, more than ${CAP}: ask for fewer`));
}

test('a WebSocket query past MAX_RESPONSE_BYTES gets the error HTTP gives, then complete; the socket goes on', async () => {
  const postId = await postWithLongComment();
  const query = `{ post(id: "${postId}") { comments(first: 1) { edges { node { ${bodies(60)} } } } } }`;
  const overHttp = await stack.gql(query, {}, { as: author });
  assert.deepEqual(codes(overHttp), ['QUERY_TOO_COMPLEX']);

  const client = wsClient(stack.gatewayUrl, await stack.token(author));
  let connections = 0;
  let closed = false;
  client.client.on('connected', () => connections++);
  client.client.on('closed', () => {
    closed = true;
  });
  // Held open, so the lazy client keeps its one socket between the operations.
  const held = client.subscribe(COMMENTS(1), { id: postId });
  const big = client.subscribe(query);
  await until('the answer', () => big.completed || big.errors !== undefined);
  assert.equal(big.errors, undefined);
  assert.equal(big.results.length, 1);
  assert.equal(big.results[0]?.data, null);
  overCap(big.results[0]?.errors?.[0]);
  overCap(overHttp.errors?.[0]);

  // The same socket answers the next operation, and a smaller answer passes.
  const small = client.subscribe(query.replace(bodies(60), bodies(10)));
  await until('the next answer', () => small.completed || small.errors !== undefined);
  assert.equal(small.results[0]?.errors, undefined);
  assert.equal((small.results[0]?.data as any)?.post.comments.edges[0].node.b9, LONG);
  assert.equal(closed, false);
  assert.equal(connections, 1);
  assert.equal(held.errors, undefined);
  await client.close();
});

test('a deferred part past MAX_RESPONSE_BYTES is replaced by its error, and the body ends there', async () => {
  const postId = await postWithLongComment();
  const deferred = (copies: number) =>
    `{ post(id: "${postId}") { id ... @defer(label: "later") { comments(first: 1) { edges { node { ${bodies(copies)} } } } } } }`;
  /** POST /graphql from a client that accepts deferred parts. */
  const ask = async (query: string) =>
    fetch(stack.gatewayUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'multipart/mixed;deferSpec=20220824, application/json',
        authorization: `Bearer ${await stack.token(author)}`,
      },
      body: JSON.stringify({ query }),
    });
  const send = async (copies: number) => {
    const response = await ask(deferred(copies));
    assert.match(response.headers.get('content-type') ?? '', /deferSpec=20220824/);
    const text = await response.text();
    assert.ok(text.endsWith('\r\n--graphql--\r\n'));
    return partsOf(text);
  };
  // Under the limit, the deferred comments arrive in the second part.
  const fits = await send(10);
  assert.equal(fits.length, 2);
  assert.equal(fits[1].incremental[0].data.comments.edges[0].node.b9, LONG);

  const [first, second, ...rest] = await send(60);
  assert.deepEqual(first, { data: { post: { id: postId } }, hasNext: true });
  assert.equal(second.hasNext, false);
  assert.equal(second.incremental.length, 1);
  const [item] = second.incremental;
  assert.deepEqual([item.data, item.path, item.label], [null, ['post'], 'later']);
  overCap(item.errors[0]);
  assert.deepEqual(rest, []);

  // An oversized first part: the answer is that error alone, as JSON, as for any query.
  const response = await ask(
    `{ post(id: "${postId}") { comments(first: 1) { edges { node { ${bodies(60)} } } } ... @defer { id } } }`,
  );
  assert.match(response.headers.get('content-type') ?? '', /application\/json/);
  const whole = (await response.json()) as { data: unknown; errors: any[] };
  assert.equal(whole.data, null);
  overCap(whole.errors[0]);
});

test('a subscription event past MAX_RESPONSE_BYTES is replaced by its error on both transports; later events still come', async () => {
  const { id: postId } = await createPost(stack, author);
  const client = wsClient(stack.gatewayUrl, await stack.token(uid('ws-reader')));
  const overWs = client.subscribe(COMMENTS(60), { id: postId });
  const overHttp = await multipartReader(COMMENTS(60), { id: postId });
  const payloads = () => overHttp.parts().flatMap((part) => (part.payload ? [part.payload] : []));
  // Live once an event gets through on both.
  await until(
    'both subscriptions to be live',
    () => overWs.results.length > 0 && payloads().length > 0,
    15_000,
    async () => void (await comment(postId, 'warm-up')),
  );
  await comment(postId, LONG);
  const after = await comment(postId, 'short again');
  for (const [transport, results] of [
    ['websocket', () => overWs.results],
    ['multipart', payloads],
  ] as const) {
    await until(`the event after the oversized one (${transport})`, () =>
      results().some((result) => result.data?.commentAdded?.id === after),
    );
    const all = results();
    const oversized = all.findIndex((result) => result.errors);
    assert.ok(oversized >= 0, transport);
    assert.equal(all[oversized].data, null, transport);
    overCap(all[oversized].errors[0]);
    assert.equal(all.at(-1).data.commentAdded.b0, 'short again', transport);
  }
  assert.equal(overWs.completed, false);
  assert.ok(!overHttp.text.includes('--graphql--'), 'the stream is still open');
  overHttp.stop();
  await client.close();
});

/** The log lines of cut-offs of `transport`. */
const cutOffs = (transport: string) =>
  stack.logs.filter((line) => line.msg === 'slow reader cut off' && line.transport === transport);

/** Posts long comments, five at a time, until `transport` has cut a reader off; how many it took. */
async function longCommentsUntilCut(postId: string, transport: string): Promise<number> {
  const before = await sample(stack.gatewayUrl, 'stream_slow_readers_total', { transport });
  for (let sent = 5; sent <= 300; sent += 5) {
    await Promise.all(Array.from({ length: 5 }, () => comment(postId, LONG)));
    if ((await sample(stack.gatewayUrl, 'stream_slow_readers_total', { transport })) > before)
      return sent;
  }
  throw new Error(`no ${transport} reader was cut off`);
}

/**
 * After `transport` cut a reader off: the cut was logged once, the gateway held at most the bound
 * and one more event for it, and the healthy reader still gets the next comment.
 */
async function assertCutOnceOthersServed(
  transport: string,
  postId: string,
  healthyIds: () => string[],
): Promise<void> {
  const [logged, ...again] = cutOffs(transport);
  assert.ok(logged, 'the cut is logged');
  assert.deepEqual(again, [], 'once');
  assert.ok((logged.buffered as number) <= BUFFERED + CAP + 1_000, String(logged.buffered));
  const last = await comment(postId, 'after the cut');
  await until('the healthy reader to get the next comment', () => healthyIds().includes(last));
}

/** A healthy reader of `postId`'s comments over the WebSocket: the ids it has received. */
function healthyReader(client: WsClient, postId: string): () => string[] {
  const received = client.subscribe(COMMENTS(1), { id: postId });
  return () => received.results.map((result) => result.data?.commentAdded?.id);
}

test('a WebSocket client that stops reading is closed with 1013; other clients go on receiving', async () => {
  const { id: postId } = await createPost(stack, author);
  const healthy = wsClient(stack.gatewayUrl, await stack.token(uid('healthy')));
  const healthyIds = healthyReader(healthy, postId);
  const slow = new WebSocket(stack.gatewayUrl.replace(/^http/, 'ws'), 'graphql-transport-ws');
  const messages: { type: string; id?: string }[] = [];
  slow.on('message', (data) => messages.push(JSON.parse(String(data))));
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    slow.on('close', (code, reason) => resolve({ code, reason: String(reason) })),
  );
  await new Promise((resolve) => slow.once('open', resolve));
  const token = await stack.token(uid('slow'));
  slow.send(
    JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }),
  );
  await until('the ack', () => messages.some((message) => message.type === 'connection_ack'));
  // Ten subscriptions of about 90 KB events: each comment puts 900 KB on this socket.
  for (let i = 0; i < 10; i++)
    slow.send(
      JSON.stringify({
        id: `s${i}`,
        type: 'subscribe',
        payload: { query: COMMENTS(45), variables: { id: postId } },
      }),
    );
  const live = () => new Set(messages.filter((m) => m.type === 'next').map((m) => m.id)).size;
  await until(
    'every subscription and the healthy reader to be live',
    () => live() === 10 && healthyIds().length > 0,
    15_000,
    async () => void (await comment(postId, 'warm-up')),
  );

  (slow as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
  const received = messages.length;
  const sent = await longCommentsUntilCut(postId, 'websocket');
  await assertCutOnceOthersServed('websocket', postId, healthyIds);

  // Reading again, the slow client finds what was queued before the cut, then 1013.
  (slow as unknown as { _socket: { resume(): void } })._socket.resume();
  const { code, reason } = await closed;
  assert.equal(code, 1013);
  assert.match(reason, new RegExp(`^Slow reader: more than ${BUFFERED} bytes unsent$`));
  const nexts = messages.slice(received).filter((message) => message.type === 'next').length;
  assert.ok(nexts < sent * 10, `${nexts} of ${sent * 10} events were queued`);
  await healthy.close();
});

test('a multipart subscription whose client stops reading is ended with SLOW_READER; other clients go on receiving', async () => {
  const { id: postId } = await createPost(stack, author);
  const healthy = wsClient(stack.gatewayUrl, await stack.token(uid('healthy')));
  const healthyIds = healthyReader(healthy, postId);
  const token = await stack.token(uid('slow-http'));
  const body = JSON.stringify({ query: COMMENTS(45), variables: { id: postId } });
  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = request(stack.gatewayUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'multipart/mixed;subscriptionSpec="1.0", application/json',
        authorization: `Bearer ${token}`,
      },
    });
    req.on('response', resolve).on('error', reject);
    req.end(body);
  });
  assert.equal(response.statusCode, 200);
  let text = '';
  response.setEncoding('utf8');
  response.on('data', (chunk: string) => (text += chunk));
  const ended = new Promise((resolve) => response.on('end', resolve));
  await until(
    'the stream and the healthy reader to be live',
    () => partsOf(text).some((part) => part.payload) && healthyIds().length > 0,
    15_000,
    async () => void (await comment(postId, 'warm-up')),
  );

  // Unread, the response's bytes stay in the socket: its reading stops.
  response.pause();
  const sent = await longCommentsUntilCut(postId, 'multipart');
  await assertCutOnceOthersServed('multipart', postId, healthyIds);

  response.resume();
  await ended;
  const parts = partsOf(text);
  assert.deepEqual(parts.at(-1)?.errors?.[0]?.extensions, { code: 'SLOW_READER' });
  assert.equal(parts.at(-1)?.payload, null);
  assert.ok(text.endsWith('\r\n--graphql--\r\n'));
  const events = parts.filter((part) => part.payload?.data?.commentAdded?.b0 === LONG).length;
  assert.ok(events < sent, `${events} of ${sent} events were queued`);
  await healthy.close();
});
