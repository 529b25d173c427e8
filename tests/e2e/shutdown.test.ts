import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { freePort } from '../../scripts/stack/services.js';
import { ok, startStack, type TestStack } from '../helpers/stack.js';
import { closeCodeFor } from '../helpers/ws.js';
import WebSocket from 'ws';

let stack: TestStack;
let proxy: Server;
let proxyUrl: string;

/** The feed subgraph behind a proxy that answers 600 ms late: a query through it is in flight. */
before(async () => {
  stack = await startStack();
  proxy = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    await delay(600);
    const response = await fetch(stack.urls.feed, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: req.headers.authorization ?? '',
      },
      body: Buffer.concat(chunks),
    });
    res.writeHead(response.status, { 'content-type': 'application/json' });
    res.end(await response.text());
  });
  const port = await freePort();
  await new Promise<void>((resolve) => proxy.listen(port, '127.0.0.1', resolve));
  proxyUrl = `http://127.0.0.1:${port}/graphql`;
});

after(async () => {
  proxy.closeAllConnections();
  await new Promise((resolve) => proxy.close(resolve));
  await stack.stop();
});

test('SIGTERM lets an in-flight query finish, closes sockets cleanly, and exits 0', async () => {
  const gateway = await stack.spawnGateway({ FEED_URL: proxyUrl });
  const token = await stack.token('draining-viewer');

  // An open WebSocket, signed in and acknowledged.
  const socket = new WebSocket(gateway.url.replace('http', 'ws'), 'graphql-transport-ws');
  const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
  await new Promise<void>((resolve) => {
    socket.on('open', () =>
      socket.send(
        JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }),
      ),
    );
    socket.on('message', (data) => JSON.parse(String(data)).type === 'connection_ack' && resolve());
  });

  const inFlight = stack.gql('{ viewer { id followerCount } }', {}, { token, url: gateway.url });
  await delay(200); // the query is now waiting on the slow feed subgraph
  const exited = new Promise<number | null>((resolve) =>
    gateway.process.on('exit', (code) => resolve(code)),
  );
  gateway.process.kill('SIGTERM');

  assert.deepEqual(ok(await inFlight), { viewer: { id: 'draining-viewer', followerCount: 0 } });
  assert.equal(await closed, 1001, 'going away');
  assert.equal(await exited, 0);
  // Nothing answers there any more.
  const afterwards = await closeCodeFor(gateway.url, { authorization: `Bearer ${token}` });
  assert.deepEqual(afterwards, { code: 1006, acked: false });
});

test('a stack whose gateway cannot listen fails, and leaves nothing running that would keep the process alive', async () => {
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const { port } = taken.address() as { port: number };
  const before = process.getActiveResourcesInfo();
  try {
    await assert.rejects(startStack({ gatewayPort: port }), { code: 'EADDRINUSE' });
  } finally {
    taken.close();
  }
  // The subgraphs, their timers and the gateway's supergraph watcher are gone with the failure:
  // left running, they held a test file's process after its `before` failed, and the run hung.
  const count = (resources: string[], kind: string) => resources.filter((r) => r === kind).length;
  const now = process.getActiveResourcesInfo();
  for (const kind of ['FSEventWrap', 'TCPServerWrap']) {
    assert.ok(count(now, kind) <= count(before, kind), `${kind}: ${now.join(', ')}`);
  }
});
