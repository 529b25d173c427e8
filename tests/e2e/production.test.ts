import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import { DEV_JWT_SECRET } from '../../platform/auth.js';
import { projectPath } from '../../platform/paths.js';
import { startStack, type TestStack } from '../helpers/stack.js';

/**
 * What production mode (NODE_ENV=production) changes, on real processes: no introspection at the
 * gateway or at a subgraph, no stack traces, and no start at all with the development JWT secret.
 * CSRF prevention and the refusal of batched requests hold in every mode.
 */
let stack: TestStack;
const production = {
  NODE_ENV: 'production',
  JWT_SECRET: 'a-production-secret-for-this-test-only-0123456789',
};

before(async () => {
  stack = await startStack();
});

after(async () => {
  await stack.stop();
});

async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as any };
}

const INTROSPECTION = { query: '{ __schema { queryType { name } } }' };

test('production gateway and subgraph refuse introspection, with no stack trace in the error', async () => {
  const gateway = await stack.spawnGateway(production);
  const feed = await stack.spawnSubgraph('feed', production);
  for (const url of [gateway.url, feed.url]) {
    const refused = await post(url, INTROSPECTION);
    assert.equal(refused.status, 400, url);
    const [error] = refused.body.errors;
    assert.equal(error.extensions.code, 'GRAPHQL_VALIDATION_FAILED', url);
    assert.match(error.message, /introspection/i);
    assert.equal(JSON.stringify(refused.body).includes('stacktrace'), false);
    // Plain queries are served.
    assert.deepEqual((await post(url, { query: '{ __typename }' })).body, {
      data: { __typename: 'Query' },
    });
  }
  // Outside production the development stack answers it.
  assert.equal((await post(stack.gatewayUrl, INTROSPECTION)).status, 200);
});

test('production refuses to start with the development JWT secret (or none)', async () => {
  for (const secret of [DEV_JWT_SECRET, '']) {
    const child = spawn(process.execPath, [projectPath('dist/gateway/index.js')], {
      env: {
        ...process.env,
        NODE_ENV: 'production',
        JWT_SECRET: secret,
        JWT_JWKS_URL: '',
        GATEWAY_PORT: '0',
        LOG_LEVEL: 'silent',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.notEqual(code, 0);
    assert.match(stderr, /Production mode needs JWT_JWKS_URL/);
  }
});

test('CSRF prevention: a GET or a simple POST without a preflight-forcing header is refused before it runs', async () => {
  for (const url of [stack.gatewayUrl, stack.urls.feed]) {
    const get = await fetch(`${url}?query=${encodeURIComponent('{ __typename }')}`);
    assert.equal(get.status, 400, url);
    assert.match(await get.text(), /Cross-Site Request Forgery/);
    const simple = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    assert.equal(simple.status, 400, url);
  }
});

test('batched requests (a JSON array) are refused at the gateway and at each subgraph', async () => {
  for (const url of [stack.gatewayUrl, stack.urls.feed, stack.urls.likes, stack.urls.comments]) {
    const batch = await post(url, [{ query: '{ __typename }' }, { query: '{ __typename }' }]);
    assert.equal(batch.status, 400, url);
    assert.equal(batch.body.errors[0].extensions.code, 'BAD_REQUEST');
  }
});
