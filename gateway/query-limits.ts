import type { ApolloServerPlugin } from '@apollo/server';
import type { DocumentNode, GraphQLError, GraphQLSchema, OperationDefinitionNode } from 'graphql';
import { checkOperationCost } from '../platform/operation-cost.js';
import { operationLimits, type RequestLimits } from '../platform/request-limits.js';

/** The gateway's limits: the environment's `MAX_QUERY_*` and `MAX_RESPONSE_BYTES`, as they are. */
export type QueryLimits = RequestLimits;

/**
 * QUERY_TOO_COMPLEX for an operation past the limits, else undefined: the one cost model
 * (platform/operation-cost.ts), for transports that do not go through Apollo Server's pipeline.
 */
export function checkQueryLimits(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  limits: QueryLimits,
  variables?: Record<string, unknown>,
): GraphQLError | undefined {
  return checkOperationCost(schema, document, operation, variables, limits);
}

/** Refuses operations past the limits before any subgraph is asked, introspection included. */
export function queryLimits(limits: QueryLimits): ApolloServerPlugin {
  return operationLimits(limits);
}
