import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { connect } from 'node:net';
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

/** Sends `head` and `body` raw to the gateway, then either reads the answer or hangs up. */
function raw(head: string, body: string, hangUp: boolean): Promise<string> {
  const { hostname, port } = new URL(stack.gatewayUrl);
  return new Promise((resolve, reject) => {
    let answer = '';
    const socket = connect(Number(port), hostname, () => {
      socket.write(`${head}\r\n\r\n${body}`);
      if (hangUp) setTimeout(() => socket.destroy(), 50);
    });
    socket.on('data', (chunk) => (answer += chunk.toString()));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
  });
}

test('a client that hangs up mid-body is logged as gone, not as a failed request', async () => {
  const requestId = `cut-short-${Date.now()}`;
  const body = '{"query":"{viewer{id}}"}';
  await raw(
    [
      'POST /graphql HTTP/1.1',
      'host: x',
      'content-type: application/json',
      `x-request-id: ${requestId}`,
      `content-length: ${body.length + 76}`,
    ].join('\r\n'),
    body,
    true,
  );
  await delay(100);
  const lines = linesOf(requestId);
  assert.deepEqual(
    lines.filter((line) => line.msg !== 'request').map((line) => [line.level, line.msg]),
    [[30, 'client went away']],
  );
});

test('headers node:http refuses get the JSON error shape with a code', async () => {
  const answer = await raw(
    ['GET /graphql HTTP/1.1', 'host: x', `authorization: Bearer ${'x'.repeat(60_000)}`].join(
      '\r\n',
    ),
    '',
    false,
  );
  assert.match(answer, /^HTTP\/1\.1 431 /);
  const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as {
    errors: { extensions: { code: string } }[];
  };
  assert.equal(body.errors[0]?.extensions.code, 'BAD_REQUEST');
  const malformed = await raw('GET /graphql HTTP/9\r\nhost: x', '', false);
  assert.match(malformed, /^HTTP\/1\.1 400 [^]*"code":"BAD_REQUEST"/);
});
