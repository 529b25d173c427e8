import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readAuthConfig, DEV_JWT_SECRET } from '../../platform/auth.js';
import { ConfigError, int, readEnv, url } from '../../platform/env.js';

test('defaults apply and values parse', () => {
  const env = readEnv(
    { PORT: int(4000, 1, 65_535), URL: url('http://a/', ['http:']) },
    { PORT: '4100' },
  );
  assert.deepEqual(env, { PORT: 4100, URL: 'http://a/' });
});

test('every bad variable is reported at once', () => {
  assert.throws(
    () =>
      readEnv({ A: int(1, 0, 10), B: url(undefined, ['http:']), C: int(1) }, { A: '11', C: 'x' }),
    (error) => error instanceof ConfigError && error.problems.length === 3,
  );
});

test('production refuses the development JWT secret', () => {
  assert.throws(() => readAuthConfig({ NODE_ENV: 'production' }), /Production mode/);
  assert.throws(
    () => readAuthConfig({ NODE_ENV: 'production', JWT_SECRET: DEV_JWT_SECRET }),
    /Production mode/,
  );
  assert.equal(
    readAuthConfig({ NODE_ENV: 'production', JWT_SECRET: 's'.repeat(40) }).mode,
    'production',
  );
  assert.equal(readAuthConfig({}).secret, DEV_JWT_SECRET);
});
