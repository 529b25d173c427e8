import type { IncomingMessage, Server, ServerResponse } from 'node:http';

/** The web app's origins in development (`npm start` serves it on port 5173). */
export const DEV_WEB_ORIGINS = ['http://127.0.0.1:5173', 'http://localhost:5173'];

export interface CorsOptions {
  /** Exact origins (`scheme://host[:port]`) granted cross-origin access; any other gets none. */
  origins: string[];
  /** How long a browser may reuse a preflight answer (Chromium caps it at 7,200 s). */
  maxAgeSeconds: number;
}

/** What a browser app sends: the bearer token, JSON or multipart, and the CSRF header. */
const ALLOWED_HEADERS = [
  'authorization',
  'content-type',
  'apollo-require-preflight',
  'x-apollo-operation-name',
  'x-request-id',
  'apollographql-client-name',
  'apollographql-client-version',
].join(', ');
/** Readable by the app: the id to quote in a bug report, and how long to back off after a 429. */
const EXPOSED_HEADERS = 'x-request-id, retry-after';

/**
 * Cross-origin access for every route of the gateway's HTTP server (GraphQL, uploads, media), set
 * before any route runs so that errors, 401s and 429s are readable by the app too. The app sends a
 * bearer token, never cookies, so credentials are not allowed: a granted origin cannot make the
 * browser attach anything it would not attach anyway. Preflights are answered here (204) and
 * never reach a route; `Vary: Origin` keeps shared caches from serving one origin's grant to another.
 */
export function allowCrossOrigin(server: Server, options: CorsOptions): void {
  const allowed = new Set(options.origins);
  const routes = server.listeners('request') as ((
    req: IncomingMessage,
    res: ServerResponse,
  ) => void)[];
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    res.setHeader('vary', 'Origin');
    const origin = req.headers.origin;
    const granted = origin !== undefined && allowed.has(origin);
    if (granted) {
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('access-control-expose-headers', EXPOSED_HEADERS);
    }
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method']) {
      if (granted) {
        res.setHeader('access-control-allow-methods', 'GET, POST');
        res.setHeader('access-control-allow-headers', ALLOWED_HEADERS);
        res.setHeader('access-control-max-age', String(options.maxAgeSeconds));
      }
      res.writeHead(204, { 'content-length': '0' });
      res.end();
      return;
    }
    for (const route of routes) route.call(server, req, res);
  });
}
