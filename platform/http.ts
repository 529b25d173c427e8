import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { context } from '@opentelemetry/api';
import {
  HeaderMap,
  type ApolloServer,
  type BaseContext,
  type HTTPGraphQLResponse,
} from '@apollo/server';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import { checkResponseSize, checkSource, type RequestLimits } from './request-limits.js';
import { startServerSpan, traceFields } from './tracing.js';

export const REQUEST_ID_HEADER = 'x-request-id';
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The caller's request id when it is a sane token, else a new one. */
export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers[REQUEST_ID_HEADER];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

export type Route = (
  req: IncomingMessage,
  res: ServerResponse,
  requestId: string,
) => Promise<void> | void;

export interface GraphQLHttpOptions<Ctx extends BaseContext> {
  /** Apollo Server, or a wrapper of its HTTP entry. */
  apollo: Pick<ApolloServer<Ctx>, 'executeHTTPGraphQLRequest'>;
  /** A transport that streams (a subscription) may take `res` over; nothing else is written then. */
  context: (req: IncomingMessage, requestId: string, res: ServerResponse) => Promise<Ctx>;
  /** True when every dependency needed to serve requests answers. */
  ready: () => Promise<boolean>;
  logger: Logger;
  metrics: Metrics;
  maxBodyBytes: number;
  /**
   * The query text's size (checked before Apollo Server parses it) and the answer's: a larger
   * answer is replaced by a QUERY_TOO_COMPLEX error.
   */
  limits: Pick<RequestLimits, 'maxQueryBytes' | 'maxTokens' | 'maxResponseBytes'>;
  /** More routes by exact path, for example `/metrics`, or by first segment: `/media/*`. */
  routes?: Record<string, Route>;
  /**
   * Answers a GraphQL request without Apollo Server, given its parsed body (undefined for a GET),
   * or leaves it to Apollo Server by answering undefined.
   */
  answerDirectly?: (request: DirectRequest) => Promise<HTTPGraphQLResponse | undefined>;
}

/** A GraphQL request over HTTP, read and within the query text's limits. */
export interface DirectRequest {
  req: IncomingMessage;
  url: URL;
  body: unknown;
  requestId: string;
}

export interface HttpService {
  server: Server;
  /** Starts answering readiness with 503 so load balancers stop routing here before we close. */
  beginShutdown(): void;
}

class PayloadTooLarge extends Error {}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(text);
}

/**
 * The error of a plain HTTP endpoint (uploads, media): `{ "error": { "code", "message" } }`.
 * Errors are never cached: the same request may succeed a moment later.
 */
export function sendError(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(JSON.stringify({ error: { code, message } }));
}

/** The key of the route serving `path`: itself, or `/<first segment>/*`. */
function routeKeyOf(path: string, routes: Record<string, Route>): string | undefined {
  if (routes[path]) return path;
  const second = path.indexOf('/', 1);
  const wildcard = second > 0 ? `${path.slice(0, second)}/*` : undefined;
  return wildcard && routes[wildcard] ? wildcard : undefined;
}

function graphqlErrorBody(message: string, code: string) {
  return { errors: [{ message, extensions: { code } }] };
}

/** The query text of a JSON body, if it has one. */
function queryOf(body: unknown): string | undefined {
  const query = (body as { query?: unknown } | undefined)?.query;
  return typeof query === 'string' ? query : undefined;
}

async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw new PayloadTooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new PayloadTooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Serves Apollo Server on node:http (no framework: the GraphQL route, health and a few fixed
 * routes are all a service needs). Oversized and unparsable bodies get a GraphQL-shaped error with
 * a code rather than a framework's HTML page.
 */
export function createGraphQLHttpService<Ctx extends BaseContext>(
  options: GraphQLHttpOptions<Ctx>,
): HttpService {
  let draining = false;
  const { apollo, logger } = options;

  function viaApollo(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    body: unknown,
    requestId: string,
  ): Promise<HTTPGraphQLResponse> {
    const headers = new HeaderMap();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    return apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: req.method ?? 'GET', headers, search: url.search, body },
      context: () => options.context(req, requestId, res),
    });
  }

  async function graphql(req: IncomingMessage, res: ServerResponse, requestId: string) {
    const url = new URL(req.url ?? '/', 'http://localhost');
    let body: unknown = undefined;
    if (req.method === 'POST') {
      let text: string;
      try {
        text = await readBody(req, options.maxBodyBytes);
      } catch (error) {
        if (error instanceof PayloadTooLarge) {
          res.setHeader('connection', 'close');
          sendJson(
            res,
            413,
            graphqlErrorBody(
              `Request body exceeds ${options.maxBodyBytes} bytes`,
              'BAD_USER_INPUT',
            ),
          );
          return;
        }
        throw error;
      }
      const type = req.headers['content-type'] ?? '';
      if (type.includes('json')) {
        try {
          body = text === '' ? undefined : JSON.parse(text);
        } catch {
          sendJson(res, 400, graphqlErrorBody('Request body is not valid JSON', 'BAD_REQUEST'));
          return;
        }
      } else {
        body = text;
      }
    }
    const query = queryOf(body) ?? url.searchParams.get('query');
    const tooLarge = query === null ? undefined : checkSource(query, options.limits);
    if (tooLarge) {
      sendJson(res, 400, graphqlErrorBody(tooLarge.message, 'QUERY_TOO_COMPLEX'));
      return;
    }
    const response =
      (await options.answerDirectly?.({ req, url, body, requestId })) ??
      (await viaApollo(req, res, url, body, requestId));
    if (res.headersSent) return; // a streaming transport took the response over
    for (const [name, value] of response.headers) res.setHeader(name, value);
    res.statusCode = response.status ?? 200;
    if (response.body.kind === 'complete') {
      const oversized = checkResponseSize(response.body.string, options.limits.maxResponseBytes);
      if (!oversized) {
        res.end(response.body.string);
        return;
      }
      // The status stays (the operation was valid and ran); its answer goes, so that neither this
      // process's socket buffers nor a gateway reading a subgraph hold it. A gateway shows the
      // error, with its code, in the fields that subgraph was asked for.
      logger.warn({ requestId, bytes: oversized.bytes }, 'response over the size limit');
      res.end(JSON.stringify({ data: null, errors: [oversized.error] }));
      return;
    }
    for await (const chunk of response.body.asyncIterator) res.write(chunk);
    res.end();
  }

  const routes: Record<string, Route> = {
    '/graphql': graphql,
    '/health/live': (_req, res) => sendJson(res, 200, { status: 'ok' }),
    '/metrics': async (_req, res) => {
      const text = await options.metrics.registry.metrics();
      res.writeHead(200, { 'content-type': options.metrics.registry.contentType });
      res.end(text);
    },
    '/health/ready': async (_req, res) => {
      const ok = !draining && (await options.ready());
      sendJson(res, ok ? 200 : 503, {
        status: ok ? 'ready' : draining ? 'draining' : 'unavailable',
      });
    },
    ...options.routes,
  };

  const server = createServer((req, res) => {
    const requestId = requestIdOf(req);
    res.setHeader(REQUEST_ID_HEADER, requestId);
    // Clients must not reuse a connection to a server that is going away.
    if (draining) res.setHeader('connection', 'close');
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const routeKey = routeKeyOf(path, routes);
    const route = routeKey ? routes[routeKey] : undefined;
    const started = performance.now();
    // Health checks and scrapes come every few seconds and say nothing about a request.
    const quiet = path === '/metrics' || path.startsWith('/health/');
    const traced = quiet ? undefined : startServerSpan(req, route ? path : 'other');
    res.once('finish', () => {
      const seconds = (performance.now() - started) / 1_000;
      const labels = {
        route: routeKey ?? 'other',
        method: req.method ?? 'GET',
        status: String(res.statusCode),
      };
      options.metrics.http.observe(labels, seconds);
      if (traced) {
        traced.span.setAttribute('http.response.status_code', res.statusCode);
        traced.span.end();
        logger.info(
          { requestId, ...labels, ms: Math.round(seconds * 1_000), ...traceFields(traced.span) },
          'request',
        );
      }
    });
    if (!route) {
      sendJson(res, 404, { error: 'not found' });
      return;
    }
    const handle = () => route(req, res, requestId);
    const handled = traced ? context.with(traced.context, handle) : handle();
    Promise.resolve(handled).catch((error: unknown) => {
      // The client went away mid-request (a body cut short, a closed tab): nobody is left to
      // answer and nothing here failed, so it is no error with a stack in the log.
      if (req.socket.destroyed) {
        logger.info({ requestId, path, reason: (error as Error).message }, 'client went away');
        return;
      }
      logger.error({ err: error, requestId, path }, 'request failed');
      if (!res.headersSent)
        sendJson(res, 500, graphqlErrorBody('Internal server error', 'INTERNAL_SERVER_ERROR'));
      else res.end();
    });
  });
  server.keepAliveTimeout = 65_000;
  // What node:http refuses before any route runs (headers past its 16 KB, a malformed request
  // line) it answers with a bare status and no body; clients get the error shape of every other
  // refusal instead, with a code.
  server.on('clientError', (error: Error & { code?: string }, socket) => {
    // Node's own handler writes only when no answer has begun on the socket; so does this one.
    const answering = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (!socket.writable || answering?.headersSent || error.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    const [status, message] =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? ['431 Request Header Fields Too Large', 'Request headers are too large']
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? ['408 Request Timeout', 'The request took too long to arrive']
          : ['400 Bad Request', 'Malformed HTTP request'];
    const body = JSON.stringify(graphqlErrorBody(message, 'BAD_REQUEST'));
    socket.end(
      `HTTP/1.1 ${status}\r\ncontent-type: application/json; charset=utf-8\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  });

  return {
    server,
    beginShutdown() {
      draining = true;
    },
  };
}

export function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/**
 * Stops accepting connections and lets in-flight requests finish. A keep-alive connection is
 * closed as soon as it is idle (checked every 100 ms, since requests finish at any time), and
 * whatever is still open after `graceMs` is cut.
 */
export function closeServer(server: Server, graceMs = 10_000): Promise<void> {
  return new Promise((resolve) => {
    const idle = setInterval(() => server.closeIdleConnections(), 100);
    const hard = setTimeout(() => server.closeAllConnections(), graceMs);
    server.close(() => {
      clearInterval(idle);
      clearTimeout(hard);
      resolve();
    });
    server.closeIdleConnections();
  });
}
