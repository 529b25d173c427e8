import type { ApolloServerPlugin } from '@apollo/server';
import {
  GraphQLError,
  Kind,
  type DocumentNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { fragmentsOf } from './subscriptions/selection.js';

export interface QueryLimits {
  /** Deepest nesting of fields, fragments included. */
  maxDepth: number;
  /** Most fields in the whole operation, every alias and every use of a fragment counted. */
  maxFields: number;
}

interface Size {
  depth: number;
  fields: number;
}

/**
 * Depth and size of an operation. Each fragment is measured once and reused, so a document built
 * to explode (fragments that spread each other many times) costs linear time to measure.
 */
function measure(document: DocumentNode, operation: OperationDefinitionNode): Size {
  const fragments = fragmentsOf(document);
  const measured = new Map<string, Size>();
  const ofSet = (set: SelectionSetNode): Size => {
    let depth = 0;
    let fields = 0;
    for (const selection of set.selections) {
      let size: Size;
      if (selection.kind === Kind.FIELD) {
        const inner = selection.selectionSet
          ? ofSet(selection.selectionSet)
          : { depth: 0, fields: 0 };
        size = { depth: inner.depth + 1, fields: inner.fields + 1 };
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        size = ofSet(selection.selectionSet);
      } else {
        const name = selection.name.value;
        const cached = measured.get(name);
        const fragment = fragments.get(name);
        size = cached ?? (fragment ? ofSet(fragment.selectionSet) : { depth: 0, fields: 0 });
        measured.set(name, size);
      }
      depth = Math.max(depth, size.depth);
      fields += size.fields;
    }
    return { depth, fields };
  };
  return ofSet(operation.selectionSet);
}

/** QUERY_TOO_COMPLEX for an operation past the limits, else undefined. */
export function checkQueryLimits(
  document: DocumentNode,
  operation: OperationDefinitionNode,
  limits: QueryLimits,
): GraphQLError | undefined {
  // Introspection (off in production) is deep by nature: tools' standard query nests ofType.
  const introspectionOnly = operation.selectionSet.selections.every(
    (selection) => selection.kind === Kind.FIELD && selection.name.value.startsWith('__'),
  );
  if (introspectionOnly) return undefined;
  const { depth, fields } = measure(document, operation);
  const problem =
    depth > limits.maxDepth
      ? `is nested ${depth} deep, more than ${limits.maxDepth}`
      : fields > limits.maxFields
        ? `selects ${fields} fields, more than ${limits.maxFields}`
        : undefined;
  if (!problem) return undefined;
  return new GraphQLError(`The operation ${problem}`, {
    extensions: { code: 'QUERY_TOO_COMPLEX', http: { status: 400 } },
  });
}

/** Refuses operations past the limits before any subgraph is asked. */
export function queryLimits(limits: QueryLimits): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, operation }) {
          if (!operation) return;
          const error = checkQueryLimits(document, operation, limits);
          if (error) throw error;
        },
      };
    },
  };
}
