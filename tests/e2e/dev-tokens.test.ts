import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startStack, type TestStack } from '../helpers/stack.js';

/**
 * The gateway as its entrypoint wires it from the environment: the demo sign-in route exists in
 * development only, and production grants cross-origin access only to the origins it is given.
 */
let stack: TestStack;
const production = {
  NODE_ENV: 'production',
  JWT_SECRET: 'a-production-secret-for-this-test-only-0123456789',
};
const APP = 'http://127.0.0.1:5173';

before(async () => {
  stack = await startStack();
});
after(() => stack.stop());

const tokenFrom = (gatewayUrl: string, body: string, method = 'POST') =>
  fetch(new URL('/dev/token', gatewayUrl), {
    method,
    headers: { 'content-type': 'application/json', origin: APP },
    ...(method === 'POST' && { body }),
  });

test('in development POST /dev/token signs in a demo user; bad input is a 400 with a code', async () => {
  const gateway = await stack.spawnGateway();
  const answer = await tokenFrom(gateway.url, JSON.stringify({ userId: 'alice' }));
  assert.equal(answer.status, 200);
  assert.equal(answer.headers.get('access-control-allow-origin'), APP);
  const { token } = (await answer.json()) as { token: string };
  const viewer = await stack.gql('{ viewer { id } }', {}, { token, url: gateway.url });
  assert.deepEqual(viewer.data, { viewer: { id: 'alice' } });

  for (const body of [
    '',
    'not json',
    '{}',
    '{"userId":"has spaces"}',
    `{"userId":"${'a'.repeat(2_000)}"}`,
  ]) {
    const refused = await tokenFrom(gateway.url, body);
    assert.ok([400, 413].includes(refused.status), body);
    assert.equal(((await refused.json()) as any).error.code, 'BAD_USER_INPUT', body);
  }
  assert.equal((await tokenFrom(gateway.url, '', 'GET')).status, 405);
});

test('in production there is no /dev/token, and no origin is granted unless CORS_ORIGINS names it', async () => {
  const closed = await stack.spawnGateway(production);
  const absent = await tokenFrom(closed.url, JSON.stringify({ userId: 'alice' }));
  assert.equal(absent.status, 404);
  assert.equal(absent.headers.get('access-control-allow-origin'), null);

  const open = await stack.spawnGateway({
    ...production,
    CORS_ORIGINS: `https://app.example, ${APP}`,
  });
  const preflight = await fetch(open.url, {
    method: 'OPTIONS',
    headers: { origin: APP, 'access-control-request-method': 'POST' },
  });
  assert.equal(preflight.status, 204);
  assert.equal(preflight.headers.get('access-control-allow-origin'), APP);
  assert.equal((await tokenFrom(open.url, JSON.stringify({ userId: 'alice' }))).status, 404);
});
