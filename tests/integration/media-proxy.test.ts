import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, test } from 'node:test';
import { mediaProxyRoutes } from '../../gateway/media-proxy.js';
import { createTokenVerifier, readAuthConfig, signDevToken } from '../../platform/auth.js';
import { listen } from '../../platform/http.js';
import { createLogger } from '../../platform/logger.js';
import { freePort } from '../../scripts/services.js';

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
