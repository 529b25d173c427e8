import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { serveWebApp, type WebAppServer } from '../../scripts/stack/web-app.js';

/** The static server `npm start` puts the built app behind, on its own origin. */
let web: WebAppServer;
let root: string;

before(async () => {
  // A build of its own: the real one may not exist yet, and must not be touched.
  root = await mkdtemp(join(tmpdir(), 'web-app-'));
  await mkdir(join(root, 'assets'));
  await writeFile(join(root, 'index.html'), '<!doctype html><title>app</title>');
  await writeFile(join(root, 'assets', 'index-abc123.js'), 'void 0;');
  web = await serveWebApp({
    host: '127.0.0.1',
    port: 0,
    gatewayUrl: 'http://127.0.0.1:4999',
    root,
  });
});
after(async () => {
  await web.stop();
  await rm(root, { recursive: true, force: true });
});

/** Raw paths, as fetch would normalise `..` away. */
function get(
  path: string,
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(web.url), { path }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('config.json names the gateway and is never cached', async () => {
  const config = await get('/config.json');
  assert.equal(config.status, 200);
  assert.deepEqual(JSON.parse(config.body), { gatewayUrl: 'http://127.0.0.1:4999' });
  assert.equal(config.headers['cache-control'], 'no-store');
});

test('the app answers its own paths; index.html is revalidated', async () => {
  const index = await get('/');
  assert.equal(index.status, 200);
  assert.match(String(index.headers['content-type']), /text\/html/);
  assert.equal(index.headers['cache-control'], 'no-cache');
  assert.equal((await get('/some/client/route')).body, index.body);
});

test('hashed bundles are cached for good', async () => {
  const answer = await get('/assets/index-abc123.js');
  assert.equal(answer.status, 200);
  assert.match(String(answer.headers['cache-control']), /immutable/);
  assert.match(String(answer.headers['content-type']), /javascript/);
});

test('no path climbs out of the build, and a malformed one is a 400', async () => {
  const index = await get('/');
  for (const path of ['/../package.json', '/assets/../../package.json', '/%2e%2e/package.json'])
    assert.equal((await get(path)).body, index.body, path);
  assert.equal((await get('/%E0%A4%A')).status, 400);
});
