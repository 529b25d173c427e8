import { HeaderMap, type ApolloServerPlugin } from '@apollo/server';
import { execute, Kind, OperationTypeNode, type OperationDefinitionNode } from 'graphql';

/** A query whose every root selection is an introspection field (`__schema`, `__type`, `__typename`). */
export function introspectsOnly(operation: OperationDefinitionNode): boolean {
  return (
    operation.operation === OperationTypeNode.QUERY &&
    operation.selectionSet.selections.every(
      (selection) => selection.kind === Kind.FIELD && selection.name.value.startsWith('__'),
    )
  );
}

/**
 * Answers operations that only introspect from the gateway's API schema, with graphql-js, instead
 * of planning them: the query planner validates against its own model of the introspection types,
 * which lacks newer fields such as `__Type.isOneOf` that GraphQL Code Generator asks for, and
 * fails the whole request with a 500. No subgraph is needed for them anyway. Whether introspection
 * is allowed at all (off in production) is decided earlier, by validation.
 */
export const introspection: ApolloServerPlugin = {
  async requestDidStart() {
    return {
      async responseForOperation({ schema, document, operation, request }) {
        if (!introspectsOnly(operation)) return null;
        const result = await execute({
          schema,
          document,
          operationName: request.operationName,
          variableValues: request.variables,
        });
        const errors = result.errors?.map((error) => error.toJSON());
        return {
          body: {
            kind: 'single',
            singleResult: { data: result.data, ...(errors ? { errors } : {}) },
          },
          http: { headers: new HeaderMap() },
        };
      },
    };
  },
};
