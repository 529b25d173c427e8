import {
  GraphQLIncludeDirective,
  GraphQLSkipDirective,
  getDirectiveValues,
  Kind,
  visit,
  type DocumentNode,
  type FieldNode,
  OperationTypeNode,
  type FragmentDefinitionNode,
  type NameNode,
  type OperationDefinitionNode,
  type SelectionNode,
  type SelectionSetNode,
  type TypeNode,
  type VariableDefinitionNode,
} from 'graphql';

export interface Operation {
  document: DocumentNode;
  operation: OperationDefinitionNode;
  fragments: Map<string, FragmentDefinitionNode>;
  variables: Record<string, unknown>;
}

/** The document's fragment definitions by name. */
export function fragmentsOf(document: DocumentNode): Map<string, FragmentDefinitionNode> {
  return new Map(
    document.definitions
      .filter(
        (definition): definition is FragmentDefinitionNode =>
          definition.kind === Kind.FRAGMENT_DEFINITION,
      )
      .map((fragment) => [fragment.name.value, fragment]),
  );
}

function included(
  node: FieldNode | SelectionSetNode['selections'][number],
  variables: Record<string, unknown>,
) {
  if (getDirectiveValues(GraphQLSkipDirective, node, variables)?.if === true) return false;
  return getDirectiveValues(GraphQLIncludeDirective, node, variables)?.if !== false;
}

/**
 * The fields a selection set asks of an object of type `typeName`, through inline fragments and
 * fragment spreads, honouring @skip and @include: what graphql-js's executor does before
 * resolving, for the one level the subscription executor resolves itself.
 */
export function collectFields(
  operation: Operation,
  selectionSet: SelectionSetNode,
  typeName: string,
): FieldNode[] {
  const fields: FieldNode[] = [];
  const visitSet = (set: SelectionSetNode) => {
    for (const selection of set.selections) {
      if (!included(selection, operation.variables)) continue;
      if (selection.kind === Kind.FIELD) {
        fields.push(selection);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        if (!selection.typeCondition || selection.typeCondition.name.value === typeName)
          visitSet(selection.selectionSet);
      } else {
        const fragment = operation.fragments.get(selection.name.value);
        if (fragment && fragment.typeCondition.name.value === typeName)
          visitSet(fragment.selectionSet);
      }
    }
  };
  visitSet(selectionSet);
  return fields;
}

/**
 * The object a push carries for `fields` (as `collectFields` gives them): each field under its
 * response key, valued by `valueOf` from the field's name and response key.
 */
export function resolveFields(
  fields: readonly FieldNode[],
  valueOf: (name: string, responseKey: string) => unknown,
): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  for (const field of fields) {
    const responseKey = (field.alias ?? field.name).value;
    data[responseKey] = valueOf(field.name.value, responseKey);
  }
  return data;
}

/**
 * A query document `query($<variable>: <variableType>) { <responseKey>: <rootField>(<argument>:
 * $<variable>) { ...selections } }` with only the fragments and variables the selections use: how
 * the fields of a subscription payload that the event does not carry are fetched through the
 * gateway's query path.
 */
export function followUpQuery(
  operation: Operation,
  selections: readonly SelectionNode[],
  target: {
    rootField: string;
    responseKey: string;
    argument: string;
    variable: string;
    list: boolean;
  },
): { document: DocumentNode; variables: Record<string, unknown> } {
  const selectionSet: SelectionSetNode = { kind: Kind.SELECTION_SET, selections };
  const usedFragments = new Set<string>();
  const usedVariables = new Set<string>();
  const pending: SelectionSetNode[] = [selectionSet];
  while (pending.length > 0) {
    visit(pending.pop() as SelectionSetNode, {
      FragmentSpread(spread) {
        const name = spread.name.value;
        const fragment = operation.fragments.get(name);
        if (!usedFragments.has(name) && fragment) {
          usedFragments.add(name);
          pending.push(fragment.selectionSet);
        }
      },
      Variable(node) {
        usedVariables.add(node.name.value);
      },
    });
  }
  const name = (value: string): NameNode => ({ kind: Kind.NAME, value });
  const id: TypeNode = {
    kind: Kind.NON_NULL_TYPE,
    type: { kind: Kind.NAMED_TYPE, name: name('ID') },
  };
  const variableDefinitions: VariableDefinitionNode[] = [
    ...(operation.operation.variableDefinitions ?? []).filter((definition) =>
      usedVariables.has(definition.variable.name.value),
    ),
    {
      kind: Kind.VARIABLE_DEFINITION,
      variable: { kind: Kind.VARIABLE, name: name(target.variable) },
      type: target.list
        ? { kind: Kind.NON_NULL_TYPE, type: { kind: Kind.LIST_TYPE, type: id } }
        : id,
    },
  ];
  const root: FieldNode = {
    kind: Kind.FIELD,
    alias: name(target.responseKey),
    name: name(target.rootField),
    arguments: [
      {
        kind: Kind.ARGUMENT,
        name: name(target.argument),
        value: { kind: Kind.VARIABLE, name: name(target.variable) },
      },
    ],
    directives: [],
    selectionSet,
  };
  const document: DocumentNode = {
    kind: Kind.DOCUMENT,
    definitions: [
      {
        kind: Kind.OPERATION_DEFINITION,
        operation: OperationTypeNode.QUERY,
        name: name(`Subscription_${target.rootField}`),
        variableDefinitions,
        directives: [],
        selectionSet: { kind: Kind.SELECTION_SET, selections: [root] },
      },
      ...[...usedFragments].map(
        (fragment) => operation.fragments.get(fragment) as FragmentDefinitionNode,
      ),
    ],
  };
  const variables = Object.fromEntries(
    [...usedVariables]
      .filter((variable) => variable in operation.variables)
      .map((variable) => [variable, operation.variables[variable]]),
  );
  return { document, variables };
}
