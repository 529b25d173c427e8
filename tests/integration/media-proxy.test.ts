import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { ApolloServer } from '@apollo/server';
import { buildSchema } from 'graphql';
import { mediaProxyRoutes } from '../../gateway/media-proxy.js';
import { createTokenVerifier, readAuthConfig, signDevToken } from '../../platform/auth.js';
import { closeServer, createGraphQLHttpService, listen } from '../../platform/http.js';
import { createLogger } from '../../platform/logger.js';
import { createMetrics } from '../../platform/metrics.js';
import { readRequestLimits } from '../../platform/request-limits.js';
import { freePort } from '../../scripts/stack/services.js';

/** The gateway's media routes in front of a feed that is not there. */
const server = createServer();
let origin: string;

before(async () => {
  const routes = mediaProxyRoutes({
    // Nothing listens there.
    feedOrigin: `http://127.0.0.1:${await freePort()}`,
    auth: createTokenVerifier(readAuthConfig({})),
    rateLimiter: async () => 0,
    logger: createLogger('test', 'silent'),
  });
  server.on('request', (req, res) => {
    const route = req.url?.startsWith('/media/') ? routes['/media/*'] : routes['/assets'];
    void route?.(req, res, 'request-1');
  });
  origin = `http://127.0.0.1:${await listen(server, 0, '127.0.0.1')}`;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

test('a feed that cannot be reached is a 502 with a JSON error, for reads and uploads', async () => {
  const read = await fetch(`${origin}/media/0000000000000000000000000`);
  assert.equal(read.status, 502);
  assert.deepEqual(((await read.json()) as { error: { code: string } }).error.code, 'BAD_GATEWAY');
  const uploaded = await fetch(`${origin}/assets`, {
    method: 'POST',
    headers: { authorization: `Bearer ${await signDevToken('proxy-user')}` },
    body: Buffer.alloc(100_000, 1),
  });
  assert.equal(uploaded.status, 502);
});

test('uploads need POST and a token before anything is forwarded', async () => {
  assert.equal((await fetch(`${origin}/assets`)).status, 405);
  const anonymous = await fetch(`${origin}/assets`, { method: 'POST', body: 'x' });
  assert.equal(anonymous.status, 401);
  assert.equal(
    ((await anonymous.json()) as { error: { code: string } }).error.code,
    'UNAUTHENTICATED',
  );
});

/** Sends `head` (request line and headers) as it is on a raw socket; resolves with the status line. */
function rawRequest(port: number, head: string, body = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => resolve(answer.split('\r\n')[0] ?? ''));
    socket.write(`${head}\r\nconnection: close\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
  });
}

/** A listener that records what reaches it. */
async function recorder() {
  const seen: { method?: string; url?: string; host?: string; authorization?: string }[] = [];
  const listener = createServer((req, res) => {
    seen.push({
      method: req.method,
      url: req.url,
      host: req.headers.host,
      authorization: req.headers.authorization,
    });
    req.resume();
    req.on('end', () => res.writeHead(404, { 'content-type': 'application/json' }).end('{}'));
  });
  const port = await listen(listener, 0, '127.0.0.1');
  return { seen, port, close: () => closeServer(listener) };
}

test('the gateway proxies media only to the configured feed, whatever the request target says', async () => {
  const feed = await recorder();
  const bystander = await recorder();
  const apollo = new ApolloServer({ schema: buildSchema('type Query { a: Int }') });
  await apollo.start();
  const gateway = createGraphQLHttpService({
    apollo,
    context: async () => ({}),
    ready: async () => true,
    logger: createLogger('test', 'silent'),
    metrics: createMetrics('test'),
    maxBodyBytes: 1_000_000,
    limits: readRequestLimits({}),
    routes: mediaProxyRoutes({
      feedOrigin: `http://127.0.0.1:${feed.port}`,
      auth: createTokenVerifier(readAuthConfig({})),
      rateLimiter: async () => 0,
      logger: createLogger('test', 'silent'),
    }),
  });
  const port = await listen(gateway.server, 0, '127.0.0.1');
  const elsewhere = `127.0.0.1:${bystander.port}`;
  const token = `Bearer ${await signDevToken('proxy-user')}`;
  try {
    const statuses: Record<string, string> = {};
    const probes: [string, string, string?][] = [
      ['absolute form', `GET http://${elsewhere}/media/abc HTTP/1.1\r\nhost: ${elsewhere}`],
      ['absolute form, https', `GET https://${elsewhere}/media/abc HTTP/1.1\r\nhost: x`],
      ['scheme-relative', `GET //${elsewhere}/media/abc HTTP/1.1\r\nhost: ${elsewhere}`],
      [
        'absolute-form upload with a token',
        `POST http://${elsewhere}/assets HTTP/1.1\r\nhost: ${elsewhere}\r\nauthorization: ${token}`,
        'bytes',
      ],
      ['CONNECT', `CONNECT ${elsewhere} HTTP/1.1\r\nhost: ${elsewhere}`],
      ['dot segments', 'GET /media/../graphql HTTP/1.1\r\nhost: x'],
      ['encoded dot segments', 'GET /media/%2e%2e/%2E%2E/graphql HTTP/1.1\r\nhost: x'],
      ['encoded slash', 'GET /media/..%2Fgraphql HTTP/1.1\r\nhost: x'],
      ['encoded backslash', 'GET /media/..%5cgraphql HTTP/1.1\r\nhost: x'],
      ['backslashes', 'GET /media\\..\\graphql HTTP/1.1\r\nhost: x'],
      ['a write to media', 'DELETE /media/abc HTTP/1.1\r\nhost: x'],
    ];
    for (const [name, head, body] of probes) statuses[name] = await rawRequest(port, head, body);
    assert.deepEqual(bystander.seen, [], 'nothing reaches another listener');
    for (const request of feed.seen) {
      assert.match(request.url ?? '', /^\/(media\/abc|assets)$/, JSON.stringify(request));
      assert.equal(request.host, `127.0.0.1:${feed.port}`);
    }
    // The upload reached the feed, token and all: the feed is where it may go.
    assert.ok(feed.seen.some((r) => r.url === '/assets' && r.authorization === token));
    assert.match(statuses['encoded slash'] ?? '', / 400 /);
    assert.match(statuses['encoded backslash'] ?? '', / 400 /);
    assert.match(statuses['a write to media'] ?? '', / 405 /);
    assert.doesNotMatch(statuses.CONNECT ?? '', / 2\d\d /);
  } finally {
    await closeServer(gateway.server);
    await apollo.stop();
    await feed.close();
    await bystander.close();
  }
});
