import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { HeaderMap, type HTTPGraphQLResponse } from '@apollo/server';
import { GraphQLError, OperationTypeNode } from 'graphql';
import Negotiator from 'negotiator';
import type { TokenVerifier, Viewer } from '../../platform/auth.js';
import { formatErrors, reportInternalErrors } from '../../platform/errors.js';
import type { DirectRequest } from '../../platform/http.js';
import type { Logger } from '../../platform/logger.js';
import { recordOperation, type Metrics } from '../../platform/metrics.js';
import { holdsIllFormedText } from '../../platform/text.js';
import type { GatewayContext } from '../context.js';
import { introspectsOnly } from '../introspection.js';
import type { QueryCache } from '../persisted-queries.js';
import { checkQueryLimits, type QueryLimits } from '../query-limits.js';
import { rateLimited, type RateLimiter } from '../rate-limit.js';
import type { TrustedDocuments } from '../trusted-documents.js';
import {
  execute,
  QUERY_PLAN_HEADER,
  variableErrors,
  type CompiledOperation,
  type CompiledOperations,
} from './compiled-operations.js';

export interface CompiledRequestsDeps {
  compiled: CompiledOperations;
  auth: TokenVerifier;
  rateLimiter: RateLimiter;
  limits: QueryLimits;
  metrics: Metrics;
  logger: Logger;
  /** Where Apollo Server finds automatic persisted queries (the manifest in front, if any). */
  queryCache: QueryCache;
  trustedDocuments?: TrustedDocuments;
  /** Headers one of which a GET must carry (Apollo Server's CSRF prevention, as configured). */
  csrfHeaders: readonly string[];
}

/** A GraphQL request as a client sent it, when it has the common, well-formed shape. */
interface PlainRequest {
  query?: string;
  /** The SHA-256 of an automatic persisted query sent without its text. */
  persistedHash?: string;
  operationName?: string;
  variables?: Record<string, unknown>;
}

/** Apollo Server's media types for a single result, in its order of preference. */
const APPLICATION_JSON = 'application/json; charset=utf-8';
const SINGLE_RESULT_TYPES = [
  APPLICATION_JSON,
  'application/graphql-response+json; charset=utf-8',
  'application/json; callbackSpec=1.0; charset=utf-8',
];
/** Accept headers seen, negotiated once each; clients send a handful of distinct ones. */
const MAX_NEGOTIATED = 256;
const APQ_PREFIX = 'apq:';

/**
 * Queries already compiled (`CompiledOperations`), answered over HTTP without Apollo Server's
 * request pipeline: it cost about a third of the gateway's CPU per feed query (its hooks, their
 * promises and the garbage they leave), for checks that these requests need in only one form.
 * Each of those checks is made here, the same way:
 *
 * - the body, the GET parameters and CSRF prevention as Apollo Server reads them; content
 *   negotiation with the same library and preferences;
 * - the token (`auth`), ill-formed text in the variables, the cost model per variables, the
 *   variables against their definitions, trusted documents and persisted queries;
 * - the rate limit, whose refusal is answered here;
 * - errors formatted and masked as Apollo Server does (`formatErrors`), internal ones logged,
 *   and the operation's metrics and span attributes recorded.
 *
 * Anything else, and any request one of the pure checks would refuse, is left to Apollo Server
 * (undefined), so that every refusal keeps one source; the rate limit is spent only after those
 * checks, so a request is never counted twice. Mutations, subscriptions, `@defer`, `onError`,
 * introspection, batches and APQ registrations all go through Apollo Server.
 */
export function compiledRequests(deps: CompiledRequestsDeps) {
  const negotiated = new Map<string, string | null>();

  function responseType(accept: string | undefined): string | null {
    if (!accept) return APPLICATION_JSON;
    let type = negotiated.get(accept);
    if (type === undefined) {
      type = new Negotiator({ headers: { accept } }).mediaType(SINGLE_RESULT_TYPES) ?? null;
      if (negotiated.size >= MAX_NEGOTIATED) negotiated.clear();
      negotiated.set(accept, type);
    }
    return type;
  }

  /** The compiled query this request runs and its text's hash, if it may run here. */
  async function compiledFor(
    request: PlainRequest,
  ): Promise<{ entry: CompiledOperation; query: string } | undefined> {
    let query = request.query;
    let hash: string;
    if (query === undefined) {
      hash = request.persistedHash as string;
      query = await deps.queryCache.get(`${APQ_PREFIX}${hash}`).catch(() => undefined);
      if (query === undefined) return undefined;
    } else {
      hash = createHash('sha256').update(query).digest('hex');
      if (deps.trustedDocuments?.only && !deps.trustedDocuments.documents.has(hash))
        return undefined;
    }
    const entry = deps.compiled.lookup(hash, request.operationName);
    if (
      !entry ||
      entry.definition.operation !== OperationTypeNode.QUERY ||
      introspectsOnly(entry.definition) ||
      query.includes('@defer')
    )
      return undefined;
    return { entry, query };
  }

  return async function answer({
    req,
    url,
    body,
    requestId,
  }: DirectRequest): Promise<HTTPGraphQLResponse | undefined> {
    const started = performance.now();
    const request = plainRequest(req, url, body, deps.csrfHeaders);
    if (!request || req.headers[QUERY_PLAN_HEADER] !== undefined) return undefined;
    const contentType = responseType(req.headers.accept);
    if (!contentType) return undefined;
    const found = await compiledFor(request);
    if (!found) return undefined;
    const { entry } = found;
    const { variables } = request;
    if (variables && holdsIllFormedText(variables)) return undefined;
    if (checkQueryLimits(entry.schema, entry.document, entry.definition, deps.limits, variables))
      return undefined;
    if (variableErrors(entry, variables)) return undefined;
    const authorization = req.headers.authorization;
    let viewer: Viewer | null;
    try {
      viewer = await deps.auth.fromHeader(authorization);
    } catch {
      return undefined; // Apollo Server answers the refusal, from the context function
    }
    const ip = req.socket.remoteAddress ?? 'unknown';
    const operation = entry.definition.name?.value ?? 'anonymous';
    const respond = (
      status: number,
      result: { errors?: readonly unknown[]; data?: unknown; extensions?: unknown },
    ) => {
      const headers = new HeaderMap();
      let formatted: ReturnType<typeof formatErrors> | undefined;
      if (result.errors?.length) {
        formatted = formatErrors(result.errors);
        for (const [name, value] of formatted.headers) headers.set(name, value);
      }
      headers.set('cache-control', 'no-store');
      headers.set('content-type', contentType);
      recordOperation(deps.metrics, started, {
        operation,
        type: 'query',
        outcome: formatted ? 'error' : 'ok',
      });
      const string = `${JSON.stringify({
        errors: formatted?.errors,
        data: result.data,
        extensions: result.extensions,
      })}\n`;
      return {
        status: formatted?.status ?? status,
        headers,
        body: { kind: 'complete' as const, string },
      };
    };

    const retryAfter = await deps.rateLimiter({ ip, userId: viewer?.id, mutation: false });
    // Apollo Server's answer to an error before execution: 500 unless the error names its
    // status, as this one does (429).
    if (retryAfter > 0) return respond(500, { errors: [rateLimited(retryAfter)] });

    deps.metrics.planExecutions.inc({ path: 'compiled', pipeline: 'direct' });
    const context: GatewayContext = {
      viewer,
      requestId,
      ip,
      authorization: viewer ? authorization : undefined,
    };
    try {
      const result = await execute(entry, { request: { variables }, context });
      if (result.errors?.length) reportInternalErrors(deps.logger, result.errors, requestId);
      // Apollo Server's rule: errors and no data at all is the client's request failing.
      return respond(result.errors?.length && result.data === undefined ? 400 : 200, result);
    } catch (thrown) {
      // As Apollo Server answers an executor that throws.
      const error =
        thrown instanceof GraphQLError
          ? thrown
          : new GraphQLError(thrown instanceof Error ? thrown.message : String(thrown), {
              originalError: thrown instanceof Error ? thrown : undefined,
            });
      reportInternalErrors(deps.logger, [error], requestId);
      return respond(500, { errors: [error] });
    }
  };
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const BODY_FIELDS = new Set(['query', 'operationName', 'variables', 'extensions']);

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
  if (req.method === 'POST') {
    const type = req.headers['content-type']?.split(';', 1)[0]?.trim().toLowerCase();
    if (type !== 'application/json' || url.search !== '' || !isRecord(body)) return undefined;
    fields = body;
  } else if (req.method === 'GET') {
    const type = req.headers['content-type']?.split(';', 1)[0]?.trim().toLowerCase();
    if (type !== undefined && type !== 'application/json') return undefined;
    if (!csrfHeaders.some((name) => req.headers[name])) return undefined;
    fields = {};
    try {
      for (const [name, value] of url.searchParams) {
        if (!BODY_FIELDS.has(name) || name in fields) return undefined;
        fields[name] = name === 'variables' || name === 'extensions' ? JSON.parse(value) : value;
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
    ...(query !== undefined && { query }),
    ...(persistedHash !== undefined && { persistedHash }),
    ...(typeof operationName === 'string' && { operationName }),
    ...(isRecord(variables) && { variables }),
  };
}
