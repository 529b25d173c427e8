import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { Logger } from './logger.js';

/** The error codes of the public API contract. */
export type ErrorCode =
  | 'BAD_USER_INPUT'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'RATE_LIMITED'
  | 'OVERLOADED'
  | 'QUERY_TOO_COMPLEX'
  | 'SUBGRAPH_UNAVAILABLE'
  | 'INTERNAL_SERVER_ERROR';

function coded(code: ErrorCode, message: string, status?: number): GraphQLError {
  return new GraphQLError(message, {
    extensions: status ? { code, http: { status } } : { code },
  });
}

export const badInput = (message: string) => coded('BAD_USER_INPUT', message);
export const unauthenticated = (message = 'You must be signed in') =>
  coded('UNAUTHENTICATED', message);
/** A bad token rejects the whole request before any field runs, with HTTP 401. */
export const invalidToken = (message: string) => coded('UNAUTHENTICATED', message, 401);
export const forbidden = (message: string) => coded('FORBIDDEN', message);
export const notFound = (message: string) => coded('NOT_FOUND', message);
/** A write refused before it started, because too many are in flight: nothing was written. */
export const overloaded = (retryAfterSeconds: number) =>
  new GraphQLError(`Too many writes in progress; retry in ${retryAfterSeconds} s`, {
    extensions: { code: 'OVERLOADED', retryAfter: retryAfterSeconds },
  });

/**
 * Codes a client can act on, passed through as they are. Apollo's own parse and validation codes
 * are kept too: they describe the client's query, not our internals.
 */
const CLIENT_CODES = new Set([
  'BAD_USER_INPUT',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'RATE_LIMITED',
  'OVERLOADED',
  'QUERY_TOO_COMPLEX',
  // The gateway could not reach a subgraph: the client gets the partial answer and which part is
  // missing, the log gets the cause.
  'SUBGRAPH_UNAVAILABLE',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  // Trusted documents only (PERSISTED_DOCUMENTS_ONLY): the operation is not in the app's manifest.
  'PERSISTED_QUERY_NOT_IN_LIST',
  'OPERATION_RESOLUTION_FAILURE',
  'BAD_REQUEST',
]);

function isClientError(code: unknown): boolean {
  return typeof code === 'string' && CLIENT_CODES.has(code);
}

/**
 * A few of Apollo Server's own refusals of a malformed request (an APQ hash that does not match
 * its query) carry an HTTP 4xx status but no code: the client's fault, not ours.
 */
function isUncodedRequestError(error: unknown): boolean {
  if (!(error instanceof GraphQLError) || error.extensions.code !== undefined) return false;
  const status = (error.extensions.http as { status?: unknown } | undefined)?.status;
  return typeof status === 'number' && status >= 400 && status < 500;
}

/**
 * Apollo Server `formatError`: anything not raised on purpose becomes a masked
 * INTERNAL_SERVER_ERROR, so driver errors and stack traces never reach a client (the cause is
 * logged by `logInternalErrors`, with the request id).
 */
export function maskError(
  formatted: GraphQLFormattedError,
  error?: unknown,
): GraphQLFormattedError {
  if (isClientError(formatted.extensions?.code)) {
    const { stacktrace: _stacktrace, ...extensions } = formatted.extensions ?? {};
    return { ...formatted, extensions };
  }
  if (isUncodedRequestError(error)) {
    return { message: formatted.message, extensions: { code: 'BAD_REQUEST' } };
  }
  return {
    message: 'Internal server error',
    ...(formatted.path ? { path: formatted.path } : {}),
    ...(formatted.locations ? { locations: formatted.locations } : {}),
    extensions: { code: 'INTERNAL_SERVER_ERROR' },
  };
}

/**
 * Logs the cause of every error that `maskError` hides, under the request's id: one line per
 * unavailable subgraph, however many fields of the answer it leaves empty.
 */
export function reportInternalErrors(
  logger: Logger,
  errors: readonly GraphQLError[],
  requestId: string,
): void {
  const unavailable = new Set<unknown>();
  for (const error of errors) {
    if (error.extensions?.code === 'SUBGRAPH_UNAVAILABLE') {
      const subgraph = error.extensions.subgraph;
      if (unavailable.has(subgraph)) continue;
      unavailable.add(subgraph);
      logger.warn(
        { err: error.originalError ?? error, subgraph, requestId },
        'subgraph unavailable',
      );
      continue;
    }
    if (isClientError(error.extensions?.code) || isUncodedRequestError(error)) continue;
    logger.error(
      { err: error.originalError ?? error, path: error.path, requestId },
      'internal error',
    );
  }
}

/** `reportInternalErrors` for every request Apollo Server runs. */
export function logInternalErrors(logger: Logger): ApolloServerPlugin<{ requestId: string }> {
  return {
    async requestDidStart({ contextValue }) {
      return {
        async didEncounterErrors({ errors }) {
          reportInternalErrors(logger, errors, contextValue.requestId);
        },
      };
    },
  };
}

/** Anything thrown, as the GraphQL error Apollo Server makes of it (its `ensureGraphQLError`). */
export function asGraphQLError(thrown: unknown): GraphQLError {
  if (thrown instanceof GraphQLError) return thrown;
  if (thrown instanceof Error) return new GraphQLError(thrown.message, { originalError: thrown });
  return new GraphQLError(`Unexpected error value: ${String(thrown)}`);
}

/** Errors as a client receives them, and the HTTP status and headers some of them ask for. */
export interface FormattedErrors {
  errors: GraphQLFormattedError[];
  status?: number;
  headers: [string, string][];
}

/**
 * Errors as Apollo Server formats them (its `normalizeAndFormatErrors`, with `maskError`), for an
 * answer sent without it: a code on every error (INTERNAL_SERVER_ERROR by default), and
 * `extensions.http` taken out of the error into the response's status and headers.
 */
export function formatErrors(errors: readonly unknown[]): FormattedErrors {
  const head: FormattedErrors = { errors: [], headers: [] };
  for (const raw of errors) {
    const error = asGraphQLError(raw);
    const extensions: Record<string, unknown> = {
      ...error.extensions,
      code: error.extensions.code ?? 'INTERNAL_SERVER_ERROR',
    };
    const http = extensions.http as { status?: unknown; headers?: unknown } | undefined;
    // Apollo Server takes out only a well-formed one; anything else stays, as data.
    if (
      typeof http === 'object' &&
      http !== null &&
      (!('status' in http) || typeof http.status === 'number') &&
      (!('headers' in http) || http.headers instanceof Map)
    ) {
      if (typeof http.status === 'number') head.status = http.status;
      for (const [name, value] of (http.headers as Map<string, string> | undefined) ?? [])
        head.headers.push([name, value]);
      delete extensions.http;
    }
    head.errors.push(maskError({ ...error.toJSON(), extensions }, error));
  }
  return head;
}
