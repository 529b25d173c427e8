import type { HTTPGraphQLResponse } from '@apollo/server';
import { OperationTypeNode } from 'graphql';
import type { TokenVerifier, Viewer } from '../../platform/auth.js';
import {
  directAnswer,
  executionStatus,
  requestReader,
  type DirectResult,
  type PlainRequest,
} from '../../platform/direct-answers.js';
import { asGraphQLError, reportInternalErrors } from '../../platform/errors.js';
import type { DirectRequest } from '../../platform/http.js';
import type { Logger } from '../../platform/logger.js';
import { recordOperation, type Metrics } from '../../platform/metrics.js';
import { holdsIllFormedText } from '../../platform/text.js';
import type { GatewayContext } from '../context.js';
import { introspectsOnly } from '../introspection.js';
import type { QueryCache } from '../persisted-queries.js';
import { checkQueryLimits, type QueryLimits } from '../query-limits.js';
import { rateLimited, type RateLimiter } from '../rate-limit.js';
import { APQ_PREFIX, sha256, type TrustedDocuments } from '../trusted-documents.js';
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

/**
 * Operations already compiled (`CompiledOperations`), answered over HTTP without Apollo Server's
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
 * checks, so a request is never counted twice. Subscriptions, mutations by GET, `@defer`,
 * `onError`, introspection, batches and APQ registrations all go through Apollo Server.
 */
export function compiledRequests(deps: CompiledRequestsDeps) {
  const readRequest = requestReader(deps.csrfHeaders);

  /** The compiled operation this request runs, if it may run here. */
  async function compiledFor(request: PlainRequest): Promise<CompiledOperation | undefined> {
    let query = request.query;
    let hash: string;
    if (query === undefined) {
      hash = request.persistedHash as string;
      query = await deps.queryCache.get(`${APQ_PREFIX}${hash}`).catch(() => undefined);
      if (query === undefined) return undefined;
    } else {
      hash = sha256(query);
      if (deps.trustedDocuments?.only && !deps.trustedDocuments.documents.has(hash))
        return undefined;
    }
    const entry = deps.compiled.lookup(hash, request.operationName);
    const type = entry?.definition.operation;
    // A mutation only by POST: over GET Apollo Server refuses it (405).
    const runnable =
      type === OperationTypeNode.QUERY || (type === OperationTypeNode.MUTATION && request.post);
    if (!entry || !runnable || introspectsOnly(entry.definition) || query.includes('@defer'))
      return undefined;
    return entry;
  }

  return async function answer(direct: DirectRequest): Promise<HTTPGraphQLResponse | undefined> {
    const started = performance.now();
    const { req, requestId } = direct;
    const read = readRequest(direct);
    if (!read || req.headers[QUERY_PLAN_HEADER] !== undefined) return undefined;
    const { request, contentType } = read;
    const entry = await compiledFor(request);
    if (!entry) return undefined;
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
    const mutation = entry.definition.operation === OperationTypeNode.MUTATION;
    // Apollo Server's cache-control plugin: no hints reach the gateway, so nothing is cacheable.
    const respond = (status: number, result: DirectResult) => {
      const { response, failed } = directAnswer(result, status, contentType, [
        ['cache-control', 'no-store'],
      ]);
      recordOperation(deps.metrics, started, {
        operation,
        type: entry.definition.operation,
        outcome: failed ? 'error' : 'ok',
        pipeline: 'direct',
      });
      return response;
    };

    const retryAfter = await deps.rateLimiter({ ip, userId: viewer?.id, mutation });
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
      return respond(executionStatus(result), result);
    } catch (thrown) {
      // As Apollo Server answers an executor that throws.
      const error = asGraphQLError(thrown);
      reportInternalErrors(deps.logger, [error], requestId);
      return respond(500, { errors: [error] });
    }
  };
}
