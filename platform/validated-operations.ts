import type { IncomingMessage } from 'node:http';
import type { ApolloServerPlugin, HTTPGraphQLResponse } from '@apollo/server';
import {
  execute,
  OperationTypeNode,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { directAnswer, requestReader, type DirectResult } from './direct-answers.js';
import { asGraphQLError, reportInternalErrors } from './errors.js';
import type { DirectRequest } from './http.js';
import type { Logger } from './logger.js';
import { recordOperation, type Metrics } from './metrics.js';
import { checkOperationCost } from './operation-cost.js';
import type { RequestLimits } from './request-limits.js';
import { holdsIllFormedText } from './text.js';

/** An operation Apollo Server parsed, validated and resolved once. */
interface ValidatedOperation {
  document: DocumentNode;
  definition: OperationDefinitionNode;
}

/**
 * Operations kept at most, oldest first out. A subgraph sees the gateway's few dozen fetch
 * operations, each some kilobytes of text and a parsed document.
 */
const MAX_OPERATIONS = 2_000;

/** Apollo Server's default CSRF prevention headers, which subgraphs keep. */
const CSRF_HEADERS = ['x-apollo-operation-name', 'apollo-require-preflight'];

export interface ValidatedOperationsDeps<Ctx> {
  schema: GraphQLSchema;
  limits: RequestLimits;
  /** The request's context, as Apollo Server is given it; throws for a token it refuses. */
  context: (req: IncomingMessage, requestId: string) => Promise<Ctx>;
  metrics: Metrics;
  logger: Logger;
}

/**
 * A subgraph's queries and mutations, once Apollo Server has parsed, validated and resolved their
 * text, answered over HTTP without its request pipeline: graphql-js runs them with the same
 * schema, context and variables, after the same checks per request (the token, ill-formed text in
 * the variables, the cost model; variables that do not fit their definitions stop graphql-js
 * before anything runs). Anything else, and any request one of those checks would refuse, goes to
 * Apollo Server, which answers it; errors are formatted and masked, internal ones logged and the
 * operation's metric recorded as there.
 */
export function validatedOperations<Ctx>(deps: ValidatedOperationsDeps<Ctx>) {
  const operations = new Map<string, ValidatedOperation>();
  const keyOf = (query: string, operationName: string | undefined) =>
    `${operationName ?? ''}\n${query}`;
  const read = requestReader(CSRF_HEADERS);

  /** Keeps each operation Apollo Server resolves (its text parsed and valid). */
  const plugin: ApolloServerPlugin = {
    async requestDidStart() {
      return {
        async didResolveOperation({ source, document, operation, request }) {
          if (!operation || operation.operation === OperationTypeNode.SUBSCRIPTION) return;
          const key = keyOf(source, request.operationName ?? undefined);
          if (operations.has(key)) return;
          if (operations.size >= MAX_OPERATIONS) {
            const oldest = operations.keys().next();
            if (!oldest.done) operations.delete(oldest.value);
          }
          operations.set(key, { document, definition: operation });
        },
      };
    },
  };

  async function answer(direct: DirectRequest): Promise<HTTPGraphQLResponse | undefined> {
    const started = performance.now();
    const { req, requestId } = direct;
    const accepted = read(direct);
    const query = accepted?.request.query;
    if (!accepted || !query) return undefined;
    const { request, contentType } = accepted;
    const entry = operations.get(keyOf(query, request.operationName));
    if (!entry) return undefined;
    const { document, definition } = entry;
    // Over GET Apollo Server runs only queries (405 otherwise).
    if (!request.post && definition.operation !== OperationTypeNode.QUERY) return undefined;
    const { variables } = request;
    if (variables && holdsIllFormedText(variables)) return undefined;
    if (checkOperationCost(deps.schema, document, definition, variables, deps.limits))
      return undefined;
    let contextValue: Ctx;
    try {
      contextValue = await deps.context(req, requestId);
    } catch {
      return undefined; // Apollo Server answers the refusal
    }
    const respond = (status: number, result: DirectResult) => {
      const { response, failed } = directAnswer(result, status, contentType);
      recordOperation(deps.metrics, started, {
        operation: definition.name?.value ?? 'anonymous',
        type: definition.operation,
        outcome: failed ? 'error' : 'ok',
        pipeline: 'direct',
      });
      return response;
    };
    let result: ExecutionResult;
    try {
      result = await execute({
        schema: deps.schema,
        document,
        contextValue,
        variableValues: variables,
        operationName: request.operationName,
      });
    } catch (thrown) {
      // As Apollo Server answers an execution that throws.
      const error = asGraphQLError(thrown);
      reportInternalErrors(deps.logger, [error], requestId);
      return respond(500, { errors: [error] });
    }
    // No data at all: graphql-js did not start, the variables not fitting their definitions.
    // Nothing ran, so Apollo Server can answer it as it does. With data, its status is 200.
    if (result.data === undefined) return undefined;
    if (result.errors?.length) reportInternalErrors(deps.logger, result.errors, requestId);
    return respond(200, result);
  }

  return { plugin, answer };
}
