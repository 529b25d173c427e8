import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { test } from 'node:test';
import { createTokenVerifier, readAuthConfig, signDevToken } from '../../platform/auth.js';

test('a remembered token is still refused once it expires', async () => {
  const verifier = createTokenVerifier(readAuthConfig({ JWT_CLOCK_TOLERANCE_S: '0' }));
  const token = await signDevToken('alice', undefined, '1s');
  const header = `Bearer ${token}`;
  assert.equal((await verifier.fromHeader(header))?.id, 'alice');
  assert.equal((await verifier.fromHeader(header))?.id, 'alice');
  await delay(2_100);
  await assert.rejects(verifier.fromHeader(header), (error: Error & { extensions?: unknown }) => {
    assert.deepEqual(error.extensions, { code: 'UNAUTHENTICATED', http: { status: 401 } });
    return true;
  });
});

test('a token refused once is refused again: failures are not remembered', async () => {
  const verifier = createTokenVerifier(readAuthConfig({}));
  const forged = `Bearer ${await signDevToken('mallory', 'another-secret-0123456789abcdef-xyz')}`;
  await assert.rejects(verifier.fromHeader(forged));
  await assert.rejects(verifier.fromHeader(forged));
});
