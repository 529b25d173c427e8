import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { test } from 'node:test';
import { SignJWT } from 'jose';
import {
  createTokenVerifier,
  DEV_JWT_SECRET,
  readAuthConfig,
  signDevToken,
} from '../../platform/auth.js';

test('a remembered token is still refused once it expires', async () => {
  const verifier = createTokenVerifier(readAuthConfig({ JWT_CLOCK_TOLERANCE_S: '0' }));
  // Two seconds after a whole-second `iat`: at least one second of life, whatever the clock's phase.
  const token = await signDevToken('alice', undefined, '2s');
  const header = `Bearer ${token}`;
  assert.equal((await verifier.fromHeader(header))?.id, 'alice');
  assert.equal((await verifier.fromHeader(header))?.id, 'alice');
  await delay(3_100);
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

test('a token must carry exp, and may not live longer than JWT_MAX_LIFETIME_S', async () => {
  const verifier = createTokenVerifier(readAuthConfig({ JWT_MAX_LIFETIME_S: '3600' }));
  const secret = new TextEncoder().encode(DEV_JWT_SECRET);
  const signed = (build: (jwt: SignJWT) => SignJWT) =>
    build(new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('alice')).sign(secret);
  const refusal = async (token: string, message: RegExp) =>
    assert.rejects(
      verifier.fromHeader(`Bearer ${token}`),
      (error: Error & { extensions?: unknown }) => {
        assert.match(error.message, message);
        assert.deepEqual(error.extensions, { code: 'UNAUTHENTICATED', http: { status: 401 } });
        return true;
      },
    );
  await refusal(await signed((jwt) => jwt.setIssuedAt()), /must carry an expiry/);
  await refusal(await signed((jwt) => jwt), /must carry an expiry/);
  await refusal(await signed((jwt) => jwt.setIssuedAt().setExpirationTime('2h')), /lives longer/);
  // Without iat, the life left is what counts.
  await refusal(await signed((jwt) => jwt.setExpirationTime('2h')), /lives longer/);
  // An old token with a long life, issued long ago, is still one that lived too long.
  const now = Math.floor(Date.now() / 1_000);
  await refusal(
    await signed((jwt) => jwt.setIssuedAt(now - 86_400).setExpirationTime(now + 600)),
    /lives longer/,
  );
  // Dated ahead, an hour's token ten years on would otherwise serve for ten years from now.
  const decade = 10 * 365 * 86_400;
  await refusal(
    await signed((jwt) => jwt.setIssuedAt(now + decade).setExpirationTime(now + decade + 600)),
    /dated in the future/,
  );
  await refusal(
    await signed((jwt) => jwt.setIssuedAt(now + 60).setExpirationTime(now + 600)),
    /dated in the future/,
  );
  for (const token of [
    // Within the clock tolerance (5 s), a token from a clock slightly ahead is taken.
    await signed((jwt) => jwt.setIssuedAt(now + 2).setExpirationTime(now + 600)),
    await signed((jwt) => jwt.setIssuedAt().setExpirationTime('1h')),
    await signed((jwt) => jwt.setExpirationTime('30m')),
  ]) {
    assert.equal((await verifier.fromHeader(`Bearer ${token}`))?.id, 'alice');
  }
  // The development tokens (7 days) pass the default.
  const defaults = createTokenVerifier(readAuthConfig({}));
  assert.equal((await defaults.fromHeader(`Bearer ${await signDevToken('bob')}`))?.id, 'bob');
  assert.throws(() => readAuthConfig({ JWT_MAX_LIFETIME_S: '0' }), /JWT_MAX_LIFETIME_S/);
});
