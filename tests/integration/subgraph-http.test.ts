import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { subgraphFetcher } from '../../gateway/subgraph-http.js';

// A subgraph stand-in that answers after a pause, so that concurrent fetches overlap, and counts.
let received = 0;
const server = createServer((req, res) => {
  received++;
  req.resume();
  req.on('end', () => setTimeout(() => res.end(JSON.stringify({ data: { n: received } })), 50));
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
after(() => new Promise<void>((resolve) => server.close(() => resolve())));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
const fetchSubgraph = subgraphFetcher(5_000);

async function concurrently(inits: { body: string; headers: Record<string, string> }[]) {
  received = 0;
  const responses = await Promise.all(inits.map((init) => fetchSubgraph(url, init)));
  return { requests: received, bodies: await Promise.all(responses.map((r) => r.json())) };
}

const query = '{"query":"query Feed__likes__1{_entities{__typename}}","variables":{}}';
const token = { authorization: 'Bearer a' };

test('identical queries in flight at once share one subgraph request', async () => {
  const { requests, bodies } = await concurrently([
    { body: query, headers: { ...token, 'x-request-id': 'one', traceparent: '00-a-b-01' } },
    { body: query, headers: { ...token, 'x-request-id': 'two', traceparent: '00-c-d-01' } },
    { body: query, headers: { ...token, 'x-request-id': 'three' } },
  ]);
  assert.equal(requests, 1);
  assert.deepEqual(bodies, [{ data: { n: 1 } }, { data: { n: 1 } }, { data: { n: 1 } }]);
  // Once answered, the next one goes out again.
  assert.equal((await concurrently([{ body: query, headers: token }])).requests, 1);
});

test('fetches differing in caller, body or kind each go out', async () => {
  const mutation = '{"query":"mutation Like{likePost(postId:\\"p\\"){id}}","variables":{}}';
  const { requests } = await concurrently([
    { body: query, headers: token },
    { body: query, headers: { authorization: 'Bearer b' } },
    { body: query.replace('Feed__likes__1', 'Feed__likes__2'), headers: token },
    { body: mutation, headers: token },
    { body: mutation, headers: token },
  ]);
  assert.equal(requests, 5);
});
