import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable, type Duplex } from 'node:stream';
import { test } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import { writeBatched } from '../../gateway/subscriptions/batched-writes.js';
import { NextFrames } from '../../gateway/subscriptions/next-frames.js';

/** A server socket with its upgraded TCP socket, and a client that collects what it receives. */
async function connected(perMessageDeflate: boolean) {
  const http = createServer();
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate });
  const server = new Promise<{ ws: WebSocket; raw: Duplex }>((resolve) => {
    http.on('upgrade', (request, raw: Duplex, head) =>
      wss.handleUpgrade(request, raw, head, (ws) => resolve({ ws, raw })),
    );
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  const client = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate });
  const received: unknown[] = [];
  client.on('message', (data, isBinary) => {
    assert.equal(isBinary, false);
    received.push(JSON.parse(String(data)));
  });
  await new Promise((resolve) => client.once('open', resolve));
  const close = async () => {
    client.close();
    await new Promise((resolve) => client.once('close', resolve));
    wss.close();
    await new Promise((resolve) => http.close(resolve));
  };
  return { ...(await server), received, close };
}

const until = async (check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
};

for (const perMessageDeflate of [false, true]) {
  test(`next frames of every length class arrive whole and in order (compression ${perMessageDeflate})`, async () => {
    const { ws, raw, received, close } = await connected(perMessageDeflate);
    // 7-bit, 16-bit and 64-bit payload lengths, and text beyond ASCII.
    const payloads = [1, 200, 70_000].map((n) =>
      JSON.stringify({ data: { text: 'é'.repeat(n), n } }),
    );
    const frames = new NextFrames(ws, raw, 'sub-"1"', () => true);
    for (const payload of payloads) frames.send(payload);
    await until(() => received.length === payloads.length);
    assert.deepEqual(
      received,
      payloads.map((payload) => ({ id: 'sub-"1"', type: 'next', payload: JSON.parse(payload) })),
    );
    await close();
  });
}

test('nothing is written once the transport says the socket may not be written', async () => {
  const { ws, raw, received, close } = await connected(false);
  new NextFrames(ws, raw, '1', () => false).send('{"data":{}}');
  await close();
  assert.deepEqual(received, []);
});

test('consecutive batched writes to one stream leave in one write, and in order', async () => {
  const calls: string[][] = [];
  const sink = () =>
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        calls.push([String(chunk)]);
        done();
      },
      writev(chunks, done) {
        calls.push(chunks.map(({ chunk }) => String(chunk)));
        done();
      },
    });
  const [a, b] = [sink(), sink()];
  writeBatched(a, 'a1');
  writeBatched(a, 'a2');
  writeBatched(b, 'b1');
  writeBatched(a, 'a3');
  await new Promise((resolve) => process.nextTick(resolve));
  assert.deepEqual(calls, [['a1', 'a2'], ['b1'], ['a3']]);
});
