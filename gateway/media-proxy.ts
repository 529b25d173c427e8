import {
  Agent,
  request,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import type { TokenVerifier } from '../platform/auth.js';
import { REQUEST_ID_HEADER, sendError, type Route } from '../platform/http.js';
import type { Logger } from '../platform/logger.js';
import type { RateLimiter } from './rate-limit.js';

/** Headers that describe one connection, not the message: never forwarded (RFC 9110 7.6.1). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'upgrade',
]);

function forwardable(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!HOP_BY_HOP.has(name)) out[name] = value;
  }
  return out;
}

/** Encoded `/` and `\`: a path segment that one hop reads as a separator and another does not. */
const ENCODED_SEPARATOR = /%2f|%5c|\\/i;

/**
 * The feed URL for a request: the feed's origin from configuration, and only the path and query
 * of the request target, normalised (`..` and `%2e%2e` resolved). Whatever host the target names
 * (absolute form `http://host:port/...`, or `//host/...`) is ignored, so that the gateway never
 * becomes a proxy to anywhere else. Undefined when the normalised path leaves `prefix` or holds
 * an encoded separator.
 */
function feedTarget(requestTarget: string, feedOrigin: string, prefix: string): URL | undefined {
  let parsed: URL;
  try {
    parsed = new URL(requestTarget, 'http://gateway.invalid');
  } catch {
    return undefined;
  }
  const { pathname, search } = parsed;
  if (ENCODED_SEPARATOR.test(pathname)) return undefined;
  if (pathname !== prefix && !pathname.startsWith(`${prefix}/`)) return undefined;
  const target = new URL(feedOrigin);
  target.pathname = pathname;
  target.search = search;
  return target;
}

export interface MediaProxyOptions {
  /** The feed subgraph's origin, which stores and serves media. */
  feedOrigin: string;
  auth: TokenVerifier;
  rateLimiter: RateLimiter;
  logger: Logger;
}

/** The feed silent this long, mid-request or mid-response, is taken as gone (502 or a cut). */
const IDLE_TIMEOUT_MS = 30_000;

/**
 * `POST /assets` and `GET /media/*` on the gateway's host, passed to the feed subgraph as streams
 * both ways: the gateway never holds a whole file, and holds no database. An upload is refused here
 * without a valid token (401) or past the caller's mutation budget (429), before the feed sees a
 * byte; a client that goes away mid-upload cuts the feed's request too, which then keeps nothing.
 * A refusal leaves the body unread; Node reads and drops it on a keep-alive connection, so the
 * client, still sending, gets the answer.
 */
export function mediaProxyRoutes(options: MediaProxyOptions): Record<string, Route> {
  const agent = new Agent({ keepAlive: true });

  function forward(req: IncomingMessage, res: ServerResponse, requestId: string, prefix: string) {
    const target = feedTarget(req.url ?? '/', options.feedOrigin, prefix);
    if (!target) {
      sendError(res, 400, 'BAD_REQUEST', `Not a ${prefix} path`);
      return;
    }
    const { host: _host, ...headers } = forwardable(req.headers);
    const upstream = request(target, {
      method: req.method,
      agent,
      timeout: IDLE_TIMEOUT_MS,
      headers: {
        ...headers,
        [REQUEST_ID_HEADER]: requestId,
        'x-forwarded-for': req.socket.remoteAddress ?? '',
        'x-forwarded-host': req.headers.host ?? '',
      },
    });
    upstream.on('response', (answer) => {
      const headers = forwardable(answer.headers);
      delete headers[REQUEST_ID_HEADER];
      res.writeHead(answer.statusCode ?? 502, headers);
      answer.pipe(res);
      answer.once('error', () => res.destroy());
    });
    upstream.on('timeout', () => upstream.destroy(new Error('the feed stopped answering')));
    upstream.on('error', (error) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (req.socket.destroyed) return;
      options.logger.warn({ err: error, requestId }, 'feed unreachable for media');
      sendError(res, 502, 'BAD_GATEWAY', 'Media storage is unreachable; try again');
      req.unpipe();
      req.resume();
    });
    // The client gave up: so does the feed's request, which deletes what it had stored.
    res.once('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.once('close', () => {
      if (!req.complete) upstream.destroy();
    });
    req.pipe(upstream);
  }

  return {
    '/assets': async (req, res, requestId) => {
      if (req.method !== 'POST') {
        sendError(res, 405, 'METHOD_NOT_ALLOWED', 'Upload with POST', { allow: 'POST' });
        return;
      }
      let userId: string | undefined;
      try {
        userId = (await options.auth.fromHeader(req.headers.authorization))?.id;
      } catch (error) {
        sendError(res, 401, 'UNAUTHENTICATED', (error as Error).message);
        return;
      }
      if (!userId) {
        sendError(res, 401, 'UNAUTHENTICATED', 'Uploads need a bearer token');
        return;
      }
      const retryAfter = await options.rateLimiter({
        ip: req.socket.remoteAddress ?? 'unknown',
        userId,
        mutation: true,
      });
      if (retryAfter > 0) {
        sendError(res, 429, 'RATE_LIMITED', `Too many requests; retry in ${retryAfter} s`, {
          'retry-after': String(retryAfter),
        });
        return;
      }
      forward(req, res, requestId, '/assets');
    },
    '/media/*': (req, res, requestId) => {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        sendError(res, 405, 'METHOD_NOT_ALLOWED', 'Media is read with GET', { allow: 'GET, HEAD' });
        return;
      }
      forward(req, res, requestId, '/media');
    },
  };
}
