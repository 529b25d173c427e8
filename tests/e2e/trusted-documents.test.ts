import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import { projectPath } from '../../platform/paths.js';
import {
  loadTrustedDocuments,
  NOT_IN_LIST,
  type TrustedDocuments,
} from '../../gateway/trusted-documents.js';
import { sample } from '../helpers/metrics.js';
import { codes, startStack, type TestStack } from '../helpers/stack.js';
import { until, wsClient } from '../helpers/ws.js';

/**
 * PERSISTED_DOCUMENTS_ONLY: the gateway runs the web app's manifest (written by codegen) and the
 * persisted queries it already knows, over HTTP and over the WebSocket, and nothing else.
 */
let stack: TestStack;
let trusted: TrustedDocuments;
const MANIFEST = projectPath('web/src/gql/persisted-documents.json');
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** The manifest's document for an operation name, and its hash. */
function manifestEntry(name: string): { hash: string; text: string } {
  for (const [hash, text] of trusted.documents)
    if (new RegExp(`(query|mutation|subscription) ${name}\\b`).test(text)) return { hash, text };
  throw new Error(`no ${name} in the manifest`);
}

async function post(body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(stack.gatewayUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${await stack.token('trusting')}`,
      ...headers,
    },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as any };
}

const persisted = (hash: string) => ({ persistedQuery: { version: 1, sha256Hash: hash } });

before(async () => {
  trusted = await loadTrustedDocuments(MANIFEST, true);
  stack = await startStack({ web: { trustedDocuments: trusted } });
});
after(() => stack.stop());

test('every manifest entry is the SHA-256 of its document, and names the app operations', () => {
  assert.ok(trusted.documents.size >= 8);
  for (const [hash, text] of trusted.documents) assert.equal(sha256(text), hash);
  for (const name of ['Feed', 'LikePost', 'PostCountsChanged', 'CommentAdded', 'CreatePost'])
    assert.ok(manifestEntry(name));
});

test('over HTTP a manifest operation runs by hash alone (POST and GET) or by its text', async () => {
  const viewer = manifestEntry('Viewer');
  const byHash = await post({ extensions: persisted(viewer.hash) });
  assert.equal(byHash.status, 200);
  assert.equal(byHash.body.data.viewer.id, 'trusting');
  const search = new URLSearchParams({ extensions: JSON.stringify(persisted(viewer.hash)) });
  const get = await fetch(`${stack.gatewayUrl}?${search}`, {
    headers: {
      'apollo-require-preflight': 'true',
      authorization: `Bearer ${await stack.token('trusting')}`,
    },
  });
  assert.equal(get.status, 200);
  assert.equal(((await get.json()) as any).data.viewer.id, 'trusting');
  assert.equal((await post({ query: viewer.text })).body.data.viewer.id, 'trusting');
});

test('over HTTP anything else is refused with PERSISTED_QUERY_NOT_IN_LIST, and not registered', async () => {
  const query = '{ viewer { id followerCount } }';
  const plain = await post({ query });
  assert.equal(plain.status, 400);
  assert.deepEqual(codes({ ...plain.body, status: 400, headers: new Headers() }), [NOT_IN_LIST]);
  const registering = await post({ query, extensions: persisted(sha256(query)) });
  assert.equal(registering.body.errors[0].extensions.code, NOT_IN_LIST);
  const later = await post({ extensions: persisted(sha256(query)) });
  assert.equal(later.body.errors[0].extensions.code, 'PERSISTED_QUERY_NOT_FOUND');
  // A mutation too: nothing is written.
  const mutation = await post({
    query:
      'mutation { createPost(input: { media: [{ kind: PHOTO, url: "https://cdn.example.com/x.jpg" }] }) { id } }',
  });
  assert.equal(mutation.body.errors[0].extensions.code, NOT_IN_LIST);
  assert.equal(mutation.body.data, undefined);
});

test('a persisted query registered before (through a gateway that allowed it) still runs', async () => {
  const open = await stack.spawnGateway({ PERSISTED_DOCUMENTS_ONLY: 'false' });
  const query = '{ viewer { id followingCount } }';
  const registered = await fetch(open.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${await stack.token('trusting')}`,
    },
    body: JSON.stringify({ query, extensions: persisted(sha256(query)) }),
  });
  assert.equal(registered.status, 200);
  const byHash = await post({ extensions: persisted(sha256(query)) });
  assert.equal(byHash.status, 200);
  assert.equal(byHash.body.data.viewer.followingCount, 0);
});

test('over the WebSocket a manifest subscription runs by hash; other text is refused with the code', async () => {
  const created = await post({
    extensions: persisted(manifestEntry('CreatePost').hash),
    variables: { input: { media: [{ kind: 'PHOTO', url: 'https://cdn.example.com/t.jpg' }] } },
  });
  const postId = created.body.data.createPost.id as string;
  const ws = wsClient(stack.gatewayUrl, await stack.token('trusting'));
  try {
    const pushes: any[] = [];
    const failures: any[] = [];
    ws.client.subscribe(
      {
        // The text is ignored: the hash names the manifest's document.
        query: 'subscription { ignored }',
        variables: { postIds: [postId] },
        extensions: persisted(manifestEntry('PostCountsChanged').hash),
      },
      {
        next: (value) => pushes.push(value),
        error: (error) => failures.push(error),
        complete: () => undefined,
      },
    );
    await until('the current counts', () => pushes.length > 0 || failures.length > 0);
    assert.deepEqual(failures, []);
    assert.equal(pushes[0].data.postCountsChanged.postId, postId);
    assert.equal(pushes[0].data.postCountsChanged.likeCount, 0);

    const untrusted = ws.subscribe(
      'subscription($ids: [ID!]!) { postCountsChanged(postIds: $ids) { postId likeCount } }',
      { ids: [postId] },
    );
    await until('the refusal', () => untrusted.errors !== undefined);
    assert.equal(untrusted.errors?.[0]?.extensions?.code, NOT_IN_LIST);
    assert.deepEqual(untrusted.results, []);
    // Queries over the socket are held to the same rule.
    const query = ws.subscribe('{ viewer { id } }');
    await until('the query refusal', () => query.errors !== undefined);
    assert.equal(query.errors?.[0]?.extensions?.code, NOT_IN_LIST);
  } finally {
    await ws.close();
  }
});

test('once compiled, a manifest query is answered without Apollo Server, by hash and by text', async () => {
  const viewer = manifestEntry('Viewer');
  const directRuns = () =>
    sample(stack.gatewayUrl, 'gateway_plan_executions_total', { pipeline: 'direct' });
  await post({ query: viewer.text });
  const before = await directRuns();
  for (const body of [{ query: viewer.text }, { extensions: persisted(viewer.hash) }]) {
    const answer = await post(body);
    assert.equal(answer.status, 200);
    assert.equal(answer.body.data.viewer.id, 'trusting');
  }
  assert.equal(await directRuns(), before + 2);
});

test('a persisted query registered elsewhere runs by hash, compiled, and still not by its text', async () => {
  // Registered through a replica that runs any operation, into the store every replica shares.
  const open = await stack.spawnGateway({ PERSISTED_DOCUMENTS_ONLY: 'false' });
  const query = '{ viewer { id username } }';
  const hash = sha256(query);
  const registered = await fetch(open.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${await stack.token('trusting')}`,
    },
    body: JSON.stringify({ query, extensions: persisted(hash) }),
  });
  assert.equal(registered.status, 200);
  // Twice: the second run is compiled, under the text's hash.
  for (let i = 0; i < 2; i++)
    assert.equal((await post({ extensions: persisted(hash) })).body.data.viewer.id, 'trusting');
  const byText = await post({ query });
  assert.equal(byText.status, 400);
  assert.equal(byText.body.errors[0].extensions.code, NOT_IN_LIST);
});
