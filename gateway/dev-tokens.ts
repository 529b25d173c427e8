import { isUserId, signDevToken } from '../platform/auth.js';
import { sendError, type Route } from '../platform/http.js';

/** Demo sign-in lasts a day: long enough for a session, short enough to show expiry works. */
const LIFETIME = '1d';
const MAX_BODY_BYTES = 1_000;

/**
 * `POST /dev/token` with `{ "userId": "alice" }` answers `{ "token" }`: sign-in for the web app's
 * demo users, signed with the development secret. Only development mode mounts it; in production
 * the path does not exist (404), since anyone could become anyone through it.
 */
export function devTokenRoutes(secret: string): Record<string, Route> {
  return {
    '/dev/token': async (req, res) => {
      if (req.method !== 'POST') {
        sendError(res, 405, 'METHOD_NOT_ALLOWED', 'POST { "userId" } to get a token', {
          allow: 'POST',
        });
        return;
      }
      let text = '';
      for await (const chunk of req as AsyncIterable<Buffer>) {
        text += chunk.toString('utf8');
        if (text.length > MAX_BODY_BYTES) {
          sendError(res, 413, 'BAD_USER_INPUT', `The body exceeds ${MAX_BODY_BYTES} bytes`, {
            connection: 'close',
          });
          return;
        }
      }
      let userId: unknown;
      try {
        userId = (JSON.parse(text) as { userId?: unknown } | null)?.userId;
      } catch {
        userId = undefined;
      }
      if (typeof userId !== 'string' || !isUserId(userId)) {
        sendError(res, 400, 'BAD_USER_INPUT', 'The body must be { "userId": "<user id>" }');
        return;
      }
      const token = await signDevToken(userId, secret, LIFETIME);
      res.writeHead(200, {
        'content-type': 'application/json; charset=utf-8',
        'cache-control': 'no-store',
      });
      res.end(JSON.stringify({ token }));
    },
  };
}
