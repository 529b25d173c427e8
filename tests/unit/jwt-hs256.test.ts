import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import { errors, jwtVerify } from 'jose';
import { hs256Verifier, TokenRefused, type ClaimChecks } from '../../platform/jwt-hs256.js';

const SECRET = 'a-test-secret-0123456789abcdef-0123456789';
const now = Math.floor(Date.now() / 1_000);

const b64 = (text: string | Buffer) => Buffer.from(text).toString('base64url');
const json = (value: unknown) => b64(JSON.stringify(value));
const sign = (input: string, hash = 'sha256', secret = SECRET) =>
  createHmac(hash, secret).update(input).digest('base64url');
/** A compact JWS of these encoded parts, signed as `alg` says unless a signature is given. */
const token = (header: string, payload: string, signature?: string) =>
  `${header}.${payload}.${signature ?? sign(`${header}.${payload}`)}`;

const HS256 = json({ alg: 'HS256', typ: 'JWT' });
const fine = { sub: 'alice', iat: now, exp: now + 3_600 };

/** Every kind of token a client or an attacker could send, by what it exercises. */
function corpus(): Record<string, string> {
  const valid = token(HS256, json(fine));
  const [h, p, s] = valid.split('.') as [string, string, string];
  const lastBitsFlipped = s.slice(0, -1) + (s.endsWith('A') ? 'B' : 'A');
  const headers: Record<string, string> = {
    'bare HS256 header': json({ alg: 'HS256' }),
    'lower-case alg': json({ alg: 'hs256' }),
    'alg none': json({ alg: 'none' }),
    'alg RS256': json({ alg: 'RS256' }),
    'no alg': json({ typ: 'JWT' }),
    'header array': json([]),
    'header null': b64('null'),
    'header not JSON': b64('{alg'),
    'header with invalid UTF-8': b64(Buffer.from([0x7b, 0xff, 0x7d])),
    'crit exp': json({ alg: 'HS256', crit: ['exp'] }),
    'b64 false': json({ alg: 'HS256', crit: ['b64'], b64: false }),
  };
  const payloads: Record<string, unknown> = {
    'expired an hour ago': { ...fine, exp: now - 3_600 },
    'exp a string': { ...fine, exp: String(now + 3_600) },
    'no exp': { sub: 'alice', iat: now },
    'nbf in an hour': { ...fine, nbf: now + 3_600 },
    'nbf an hour ago': { ...fine, nbf: now - 3_600 },
    'nbf a string': { ...fine, nbf: 'soon' },
    'iat a string': { ...fine, iat: 'today' },
    'no sub': { iat: now, exp: now + 3_600 },
    'sub a number': { ...fine, sub: 42 },
    'iss right': { ...fine, iss: 'https://issuer.example' },
    'iss wrong': { ...fine, iss: 'https://elsewhere.example' },
    'aud right': { ...fine, aud: 'app' },
    'aud in an array': { ...fine, aud: ['other', 'app'] },
    'aud wrong': { ...fine, aud: ['other'] },
    'aud a number': { ...fine, aud: 7 },
    'iss and aud right': { ...fine, iss: 'https://issuer.example', aud: 'app' },
    'iss and aud right, expired': {
      ...fine,
      iss: 'https://issuer.example',
      aud: 'app',
      exp: now - 3_600,
    },
    'claims an array': [fine],
    'claims null': null,
    'claims a string': 'alice',
  };
  const cases: Record<string, string> = {
    valid,
    'HS384 signed as such': token(
      json({ alg: 'HS384' }),
      p,
      sign(`${json({ alg: 'HS384' })}.${p}`, 'sha384'),
    ),
    'HS512 signed as such': token(
      json({ alg: 'HS512' }),
      p,
      sign(`${json({ alg: 'HS512' })}.${p}`, 'sha512'),
    ),
    'another secret': token(h, p, sign(`${h}.${p}`, 'sha256', 'another-secret-0123456789abcdef')),
    'signature truncated': `${h}.${p}.${s.slice(0, -2)}`,
    'signature empty': `${h}.${p}.`,
    'signature padded': `${h}.${p}.${s}=`,
    'signature with its unused bits changed': `${h}.${p}.${lastBitsFlipped}`,
    'signature of another payload': `${h}.${json({ ...fine, sub: 'mallory' })}.${s}`,
    'claims not JSON': token(h, b64('{"sub":')),
    'claims with invalid UTF-8': token(h, b64(Buffer.from([0x7b, 0xc3, 0x28, 0x7d]))),
    'claims padded': token(h, `${p}=`),
    'claims with a space': token(h, `${p.slice(0, 4)} ${p.slice(4)}`),
    'two parts': `${h}.${p}`,
    'four parts': `${valid}.${s}`,
    empty: '',
    dots: '..',
  };
  for (const [name, header] of Object.entries(headers)) cases[name] = token(header, p);
  for (const [name, payload] of Object.entries(payloads)) cases[name] = token(h, json(payload));
  return cases;
}

type Verdict = string;

async function joseVerdict(text: string, checks: ClaimChecks): Promise<Verdict> {
  try {
    const { payload } = await jwtVerify(text, new TextEncoder().encode(SECRET), {
      algorithms: ['HS256'],
      issuer: checks.issuer,
      audience: checks.audience,
      clockTolerance: checks.clockToleranceSeconds,
      requiredClaims: ['sub'],
    });
    return `accepted ${JSON.stringify(payload)}`;
  } catch (error) {
    if (error instanceof errors.JWTExpired) return 'expired';
    if (error instanceof errors.JOSEError) return 'refused';
    throw error;
  }
}

function ourVerdict(text: string, checks: ClaimChecks): Verdict {
  try {
    return `accepted ${JSON.stringify(hs256Verifier(SECRET, checks)(text))}`;
  } catch (error) {
    if (error instanceof TokenRefused) return error.expired ? 'expired' : 'refused';
    throw error;
  }
}

/**
 * Where we refuse what jose accepts, on purpose: text that is not canonical base64url, which
 * jose's decoder reads past (see `hs256Verifier`).
 */
const STRICTER = new Set([
  'signature with its unused bits changed',
  'signature padded',
  'claims with a space',
]);

test('the synchronous HS256 check gives jose’s verdict on every kind of token', async () => {
  const settings: ClaimChecks[] = [
    { issuer: undefined, audience: undefined, clockToleranceSeconds: 5 },
    { issuer: 'https://issuer.example', audience: 'app', clockToleranceSeconds: 0 },
  ];
  let accepted = 0;
  let expired = 0;
  for (const checks of settings) {
    for (const [name, text] of Object.entries(corpus())) {
      const ours = ourVerdict(text, checks);
      const theirs = await joseVerdict(text, checks);
      if (STRICTER.has(name)) {
        assert.equal(ours, 'refused', name);
        continue;
      }
      assert.equal(ours, theirs, `${name} (${JSON.stringify(checks)})`);
      if (ours.startsWith('accepted')) accepted++;
      if (ours === 'expired') expired++;
    }
  }
  // The corpus exercises all three verdicts under both settings.
  assert.ok(accepted >= 10, `accepted ${accepted}`);
  assert.ok(expired >= 2, `expired ${expired}`);
});

test('a header with an extension is refused even where jose would accept it', () => {
  const payload = json(fine);
  const header = json({ alg: 'HS256', crit: ['b64'], b64: true });
  const checks = { issuer: undefined, audience: undefined, clockToleranceSeconds: 0 };
  assert.throws(() => hs256Verifier(SECRET, checks)(token(header, payload)), TokenRefused);
});

test('clock tolerance applies to exp and nbf on both sides', () => {
  const verify = (claims: object, clockToleranceSeconds: number) =>
    ourVerdict(token(HS256, json(claims)), {
      issuer: undefined,
      audience: undefined,
      clockToleranceSeconds,
    });
  assert.equal(verify({ ...fine, exp: now - 30 }, 0), 'expired');
  assert.match(verify({ ...fine, exp: now - 30 }, 60), /^accepted/);
  assert.equal(verify({ ...fine, nbf: now + 30 }, 0), 'refused');
  assert.match(verify({ ...fine, nbf: now + 30 }, 60), /^accepted/);
});
