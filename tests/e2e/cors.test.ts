import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { DEV_WEB_ORIGINS } from '../../gateway/cors.js';
import { makeImage } from '../helpers/media.js';
import { ok, startStack, type TestStack } from '../helpers/stack.js';

/** Raw HTTP, as a browser would send it from the web app's origin or from somewhere else. */
let stack: TestStack;
let origin: string;
const APP = DEV_WEB_ORIGINS[0] as string;
const ELSEWHERE = 'https://evil.example';

before(async () => {
  stack = await startStack({ web: { devTokenSecret: undefined } });
  origin = new URL(stack.gatewayUrl).origin;
});
after(() => stack.stop());

function preflight(path: string, from: string, method = 'POST') {
  return fetch(`${origin}${path}`, {
    method: 'OPTIONS',
    headers: {
      origin: from,
      'access-control-request-method': method,
      'access-control-request-headers': 'authorization, content-type',
    },
  });
}

function assertGranted(response: Response, from: string) {
  assert.equal(response.headers.get('access-control-allow-origin'), from);
  assert.equal(response.headers.get('access-control-allow-credentials'), null);
  const exposed = response.headers.get('access-control-expose-headers') ?? '';
  assert.match(exposed, /x-request-id/);
  assert.match(exposed, /retry-after/);
  assert.match(response.headers.get('vary') ?? '', /origin/i);
}

function assertNotGranted(response: Response) {
  assert.equal(response.headers.get('access-control-allow-origin'), null);
  assert.equal(response.headers.get('access-control-allow-methods'), null);
}

for (const path of ['/graphql', '/assets', '/media/anything']) {
  test(`a preflight to ${path} from the app is answered 204 and cached; from elsewhere, no grant`, async () => {
    const granted = await preflight(path, APP, path.startsWith('/media') ? 'GET' : 'POST');
    assert.equal(granted.status, 204);
    assertGranted(granted, APP);
    assert.match(granted.headers.get('access-control-allow-methods') ?? '', /POST/);
    const headers = granted.headers.get('access-control-allow-headers') ?? '';
    for (const header of ['authorization', 'content-type', 'apollo-require-preflight'])
      assert.match(headers, new RegExp(header));
    assert.equal(granted.headers.get('access-control-max-age'), '600');

    const refused = await preflight(path, ELSEWHERE);
    assertNotGranted(refused);
  });
}

test('POST /graphql from the app is granted and its request id is exposed; from elsewhere not', async () => {
  const ask = (from: string) =>
    fetch(stack.gatewayUrl, {
      method: 'POST',
      headers: { origin: from, 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
  const granted = await ask(APP);
  assert.equal(granted.status, 200);
  assertGranted(granted, APP);
  assert.ok(granted.headers.get('x-request-id'));
  assertNotGranted(await ask(ELSEWHERE));
});

test('GET /graphql with the CSRF header from the app is granted; without it, refused with a grant so the app can read why', async () => {
  const url = `${stack.gatewayUrl}?query=${encodeURIComponent('{ __typename }')}`;
  const granted = await fetch(url, {
    headers: { origin: APP, 'apollo-require-preflight': 'true' },
  });
  assert.equal(granted.status, 200);
  assertGranted(granted, APP);
  assert.deepEqual(await granted.json(), { data: { __typename: 'Query' } });
  const csrf = await fetch(url, { headers: { origin: APP } });
  assert.equal(csrf.status, 400);
  assertGranted(csrf, APP);
});

test('errors (a bad token: 401) carry the grant too, so the app can read them', async () => {
  const response = await fetch(stack.gatewayUrl, {
    method: 'POST',
    headers: { origin: APP, 'content-type': 'application/json', authorization: 'Bearer nope' },
    body: JSON.stringify({ query: '{ viewer { id } }' }),
  });
  assert.equal(response.status, 401);
  assertGranted(response, APP);
});

test('an upload to /assets and its delivery from /media work cross-origin', async () => {
  const form = new FormData();
  const png = await makeImage(40, 30, 'png');
  form.append('file', new Blob([png], { type: 'image/png' }), 'a.png');
  const upload = await fetch(`${origin}/assets`, {
    method: 'POST',
    headers: { origin: APP, authorization: `Bearer ${await stack.token('cors-uploader')}` },
    body: form,
  });
  assert.equal(upload.status, 201);
  assertGranted(upload, APP);
  const { url } = (await upload.json()) as { url: string };
  const media = await fetch(url, { headers: { origin: APP } });
  assert.equal(media.status, 200);
  assertGranted(media, APP);
  assert.deepEqual(Buffer.from(await media.arrayBuffer()), png);
  assertNotGranted(await fetch(url, { headers: { origin: ELSEWHERE } }));
});

test('without a dev token secret there is no token route', async () => {
  const response = await fetch(`${origin}/dev/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ userId: 'alice' }),
  });
  assert.equal(response.status, 404);
  ok(await stack.gql('{ __typename }'));
});
