import type { IncomingMessage } from 'node:http';
import { HeaderMap, type HTTPGraphQLResponse } from '@apollo/server';
import Negotiator from 'negotiator';
import { formatErrors } from './errors.js';
import type { DirectRequest } from './http.js';

/**
 * What an operation answered without Apollo Server's request pipeline needs of Apollo Server's
 * ways: the request read as it reads one, the answer's media type chosen as it chooses one, the
 * answer written as it writes one. The gateway (`gateway/execution/compiled-requests.ts`) and
 * every subgraph (`platform/validated-operations.ts`) answer this way.
 */

/** A GraphQL request as a client sent it, when it has the common, well-formed shape. */
export interface PlainRequest {
  post: boolean;
  query?: string;
  /** The SHA-256 of an automatic persisted query sent without its text. */
  persistedHash?: string;
  operationName?: string;
  variables?: Record<string, unknown>;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const BODY_FIELDS = new Set(['query', 'operationName', 'variables', 'extensions']);
const GRAPHQL_NAME = /^[_A-Za-z][_0-9A-Za-z]*$/;

/**
 * The request, when Apollo Server would read it the same way and let it through CSRF prevention:
 * a POST of a JSON object with only the standard fields, or a GET with each standard parameter at
 * most once and one of `csrfHeaders`. Undefined for anything else (Apollo Server reads or refuses
 * it): other fields (`onError`), a query string on a POST, a persisted query that registers its
 * text, values of the wrong type.
 */
function plainRequest(
  req: IncomingMessage,
  url: URL,
  body: unknown,
  csrfHeaders: readonly string[],
): PlainRequest | undefined {
  let fields: Record<string, unknown>;
  const type = req.headers['content-type']?.split(';', 1)[0]?.trim().toLowerCase();
  if (req.method === 'POST') {
    if (type !== 'application/json' || url.search !== '' || !isRecord(body)) return undefined;
    fields = body;
  } else if (req.method === 'GET') {
    if (type !== undefined && type !== 'application/json') return undefined;
    if (!csrfHeaders.some((name) => req.headers[name])) return undefined;
    fields = {};
    try {
      for (const [name, value] of url.searchParams) {
        if (!BODY_FIELDS.has(name) || name in fields) return undefined;
        if (name !== 'variables' && name !== 'extensions') {
          fields[name] = value;
          continue;
        }
        // Apollo Server takes only an object here: `null`, allowed in a POST body, is refused.
        const parsed: unknown = JSON.parse(value);
        if (!isRecord(parsed)) return undefined;
        fields[name] = parsed;
      }
    } catch {
      return undefined;
    }
  } else {
    return undefined;
  }
  for (const name of Object.keys(fields)) if (!BODY_FIELDS.has(name)) return undefined;
  const { query, operationName, variables, extensions } = fields;
  if (query !== undefined && typeof query !== 'string') return undefined;
  if (operationName !== undefined && operationName !== null && typeof operationName !== 'string')
    return undefined;
  // A name that is no GraphQL name (empty, a line break…) names no operation of any document:
  // Apollo Server resolves none and refuses the request. It also keeps keys of a name and a text
  // unambiguous (`validated-operations.ts`).
  if (typeof operationName === 'string' && !GRAPHQL_NAME.test(operationName)) return undefined;
  if (variables !== undefined && variables !== null && !isRecord(variables)) return undefined;
  if (extensions !== undefined && extensions !== null && !isRecord(extensions)) return undefined;
  const persisted = extensions?.persistedQuery;
  let persistedHash: string | undefined;
  if (persisted !== undefined) {
    // Only a hash alone: a text with its hash registers it, which Apollo Server does.
    if (query !== undefined || !isRecord(persisted) || persisted.version !== 1) return undefined;
    if (typeof persisted.sha256Hash !== 'string') return undefined;
    persistedHash = persisted.sha256Hash;
  } else if (query === undefined) {
    return undefined;
  }
  return {
    post: req.method === 'POST',
    ...(query !== undefined && { query }),
    ...(persistedHash !== undefined && { persistedHash }),
    ...(typeof operationName === 'string' && { operationName }),
    ...(isRecord(variables) && { variables }),
  };
}

/** Apollo Server's media types for a single result, in its order of preference. */
const APPLICATION_JSON = 'application/json; charset=utf-8';
const SINGLE_RESULT_TYPES = [
  APPLICATION_JSON,
  'application/graphql-response+json; charset=utf-8',
  'application/json; callbackSpec=1.0; charset=utf-8',
];
/**
 * What a GET may prefer to a result: Apollo Server's landing page is served to a GET whose
 * `accept` ranks HTML first among these (a browser's), and the operation does not run.
 */
const LANDING_PAGE_CHOICES = [
  APPLICATION_JSON,
  'application/graphql-response+json; charset=utf-8',
  'multipart/mixed; deferSpec=20220824',
  'multipart/mixed; incrementalSpec=v0.2',
  'multipart/mixed',
  'text/html',
];
/** Accept headers seen, negotiated once each; clients send a handful of distinct ones. */
const MAX_NEGOTIATED = 256;

interface Negotiated {
  /** The result's media type, or null when none is acceptable (Apollo Server's 406). */
  type: string | null;
  /** Whether a GET with this header gets the landing page. */
  html: boolean;
}

/**
 * The media type of a single result for a request, as Apollo Server negotiates it (the same
 * library, the same preferences), or null for a request it does not answer with one.
 */
function resultTypes(): (req: IncomingMessage) => string | null {
  const negotiated = new Map<string, Negotiated>();
  return (req) => {
    const accept = req.headers.accept;
    if (!accept) return APPLICATION_JSON;
    let known = negotiated.get(accept);
    if (!known) {
      const negotiator = new Negotiator({ headers: { accept } });
      known = {
        type: negotiator.mediaType(SINGLE_RESULT_TYPES) ?? null,
        html: negotiator.mediaType(LANDING_PAGE_CHOICES) === 'text/html',
      };
      if (negotiated.size >= MAX_NEGOTIATED) negotiated.clear();
      negotiated.set(accept, known);
    }
    return req.method === 'GET' && known.html ? null : known.type;
  };
}

/**
 * Reads requests as Apollo Server would (`plainRequest`) and negotiates their answers' media type:
 * undefined for a request to leave to Apollo Server.
 */
export function requestReader(csrfHeaders: readonly string[]) {
  const responseType = resultTypes();
  return ({
    req,
    url,
    body,
  }: Pick<DirectRequest, 'req' | 'url' | 'body'>):
    { request: PlainRequest; contentType: string } | undefined => {
    const request = plainRequest(req, url, body, csrfHeaders);
    const contentType = request ? responseType(req) : null;
    return request && contentType ? { request, contentType } : undefined;
  };
}

/** A result to send: an execution's, or errors alone. */
export interface DirectResult {
  errors?: readonly unknown[];
  data?: unknown;
  extensions?: unknown;
}

/**
 * The answer Apollo Server writes for `result`: errors formatted and masked (`formatErrors`),
 * their status and headers, then `headers` (Apollo Server's own, such as `cache-control`) and the
 * media type; fields in its order, and its trailing newline. `status` applies unless an error
 * names one.
 */
export function directAnswer(
  result: DirectResult,
  status: number,
  contentType: string,
  headers: [string, string][] = [],
): { response: HTTPGraphQLResponse; failed: boolean } {
  const head = new HeaderMap();
  const formatted = result.errors?.length ? formatErrors(result.errors) : undefined;
  for (const [name, value] of formatted?.headers ?? []) head.set(name, value);
  for (const [name, value] of headers) head.set(name, value);
  head.set('content-type', contentType);
  const string = `${JSON.stringify({
    errors: formatted?.errors,
    data: result.data,
    extensions: result.extensions,
  })}\n`;
  return {
    response: {
      status: formatted?.status ?? status,
      headers: head,
      body: { kind: 'complete', string },
    },
    failed: formatted !== undefined,
  };
}

/**
 * Apollo Server's status for an execution's result: 400 when there are errors and no data at all
 * (the request could not run), else 200.
 */
export function executionStatus(result: DirectResult): number {
  return result.errors?.length && result.data === undefined ? 400 : 200;
}
