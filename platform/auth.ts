import {
  createRemoteJWKSet,
  errors as joseErrors,
  jwtVerify,
  SignJWT,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import { int, oneOf, optionalStr, readEnv } from './env.js';
import { invalidToken, unauthenticated } from './errors.js';
import { hs256Verifier, TokenRefused } from './jwt-hs256.js';

/** Known to everyone who reads this repository: accepted only outside production. */
export const DEV_JWT_SECRET = 'dev-only-secret-change-me-0123456789abcdef';

const USER_ID = /^[A-Za-z0-9_.-]{1,64}$/;
/** Verified tokens remembered per process (oldest dropped first), and, with a JWKS, for how long at most. */
const VERIFIED_TOKENS = 10_000;
const VERIFIED_TTL_MS = 60_000;

export interface AuthConfig {
  mode: 'development' | 'production';
  secret: string | undefined;
  jwksUrl: string | undefined;
  issuer: string | undefined;
  audience: string | undefined;
  clockToleranceSeconds: number;
  /**
   * Longest life a token may claim: `exp - iat`, or `exp - now` without `iat` (an `iat` ahead of
   * the clock is refused). A token must carry `exp` in every mode; one that never expires, or
   * that outlives this, is refused.
   */
  maxLifetimeSeconds: number;
}

export function readAuthConfig(
  source: Record<string, string | undefined> = process.env,
): AuthConfig {
  const env = readEnv(
    {
      NODE_ENV: oneOf(['development', 'production', 'test'], 'development'),
      JWT_SECRET: optionalStr(),
      JWT_JWKS_URL: optionalStr(),
      JWT_ISSUER: optionalStr(),
      JWT_AUDIENCE: optionalStr(),
      JWT_CLOCK_TOLERANCE_S: int(5, 0, 300),
      JWT_MAX_LIFETIME_S: int(7 * 86_400, 60, 365 * 86_400),
    },
    source,
  );
  const mode = env.NODE_ENV === 'production' ? 'production' : 'development';
  if (mode === 'production') {
    if (!env.JWT_JWKS_URL && (!env.JWT_SECRET || env.JWT_SECRET === DEV_JWT_SECRET)) {
      throw new Error(
        'Production mode needs JWT_JWKS_URL (RS256/ES256 keys) or a JWT_SECRET other than the development default',
      );
    }
  }
  return {
    mode,
    secret: env.JWT_JWKS_URL ? undefined : (env.JWT_SECRET ?? DEV_JWT_SECRET),
    jwksUrl: env.JWT_JWKS_URL,
    issuer: env.JWT_ISSUER,
    audience: env.JWT_AUDIENCE,
    clockToleranceSeconds: env.JWT_CLOCK_TOLERANCE_S,
    maxLifetimeSeconds: env.JWT_MAX_LIFETIME_S,
  };
}

export interface Viewer {
  id: string;
  /** Seconds since the epoch when the token stops being valid. */
  expiresAt: number;
}

export interface TokenVerifier {
  /** The viewer named by an `Authorization` header; null when there is none; throws UNAUTHENTICATED when it is bad. */
  fromHeader(header: string | undefined | null): Promise<Viewer | null>;
}

export function createTokenVerifier(config: AuthConfig): TokenVerifier {
  const checks = {
    issuer: config.issuer,
    audience: config.audience,
    clockToleranceSeconds: config.clockToleranceSeconds,
  };
  const jwks: JWTVerifyGetKey | undefined = config.jwksUrl
    ? createRemoteJWKSet(new URL(config.jwksUrl))
    : undefined;
  // A shared secret is checked synchronously (see `hs256Verifier`); keys from a JWKS by jose.
  const hs256 = config.secret ? hs256Verifier(config.secret, checks) : undefined;

  async function claimsOf(token: string): Promise<JWTPayload> {
    if (hs256) return hs256(token);
    const { payload } = await jwtVerify(token, jwks as JWTVerifyGetKey, {
      algorithms: ['RS256', 'ES256'],
      issuer: checks.issuer,
      audience: checks.audience,
      clockTolerance: checks.clockToleranceSeconds,
      requiredClaims: ['sub'],
    });
    return payload;
  }

  async function verify(token: string): Promise<Viewer> {
    try {
      const payload = await claimsOf(token);
      const sub = payload.sub;
      if (typeof sub !== 'string' || !USER_ID.test(sub)) {
        throw invalidToken('The token does not name a valid user');
      }
      // A token that never expires cannot be withdrawn: a leaked one would be valid for good.
      const { exp, iat } = payload;
      if (typeof exp !== 'number') throw invalidToken('The token must carry an expiry (exp)');
      const now = Date.now() / 1_000;
      // Dated ahead, a token would measure its life from a day that has not come: signed with
      // iat and exp ten years on, it would pass as an hour's token and serve for ten years.
      if (typeof iat === 'number' && iat > now + config.clockToleranceSeconds) {
        throw invalidToken('The token is dated in the future (iat)');
      }
      const lifetime = exp - Math.min(typeof iat === 'number' ? iat : now, now);
      if (lifetime > config.maxLifetimeSeconds + config.clockToleranceSeconds) {
        throw invalidToken(
          `The token lives longer than the ${config.maxLifetimeSeconds} s a token may`,
        );
      }
      return { id: sub, expiresAt: exp };
    } catch (error) {
      const expired =
        error instanceof joseErrors.JWTExpired || (error instanceof TokenRefused && error.expired);
      if (expired) throw invalidToken('The token has expired');
      if (error instanceof joseErrors.JOSEError || error instanceof TokenRefused) {
        throw invalidToken('The token is not valid');
      }
      throw error;
    }
  }

  /**
   * Tokens verified lately, by their text: a client sends the same token with every request, and
   * a map lookup costs far less than a signature check (20 µs with a secret, an asynchronous
   * WebCrypto job with a JWKS). A hit is still held to the token's expiry and, with a JWKS, to
   * `VERIFIED_TTL_MS`, so that a key withdrawn from it stops being honoured within a minute. A
   * shared secret changes only with the configuration, at a restart: its tokens are kept until
   * they expire, where checking each again every minute cost a client's requests one
   * verification in every few hundred. Only successes are kept.
   */
  const verified = new Map<string, { viewer: Viewer; until: number }>();
  async function verifyCached(token: string): Promise<Viewer> {
    const now = Date.now();
    const hit = verified.get(token);
    if (hit && now < hit.until) return hit.viewer;
    if (hit) verified.delete(token);
    const viewer = await verify(token);
    const expiry = (viewer.expiresAt + config.clockToleranceSeconds) * 1_000;
    if (verified.size >= VERIFIED_TOKENS) verified.delete(verified.keys().next().value as string);
    verified.set(token, { viewer, until: jwks ? Math.min(expiry, now + VERIFIED_TTL_MS) : expiry });
    return viewer;
  }

  return {
    async fromHeader(header) {
      if (header === undefined || header === null || header === '') return null;
      const match = /^Bearer\s+(\S+)$/i.exec(header.trim());
      if (!match?.[1]) throw invalidToken('The Authorization header must be "Bearer <token>"');
      return verifyCached(match[1]);
    },
  };
}

/** Signs a development token (HS256). Used by `npm run token`, the seed script and the tests. */
export async function signDevToken(
  userId: string,
  secret: string = DEV_JWT_SECRET,
  expiresIn: string | number = '7d',
): Promise<string> {
  if (!USER_ID.test(userId))
    throw new Error(`User ids are 1 to 64 of A-Z a-z 0-9 _ . -, got "${userId}"`);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(userId)
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(new TextEncoder().encode(secret));
}

export function isUserId(value: string): boolean {
  return USER_ID.test(value);
}

/** The signed-in user's id, or UNAUTHENTICATED: every mutation and the feed start here. */
export function requireViewer(context: { viewer: Viewer | null }): string {
  if (!context.viewer) throw unauthenticated();
  return context.viewer.id;
}
