import {
  getNullableType,
  GraphQLError,
  isAbstractType,
  isListType,
  isNonNullType,
  isObjectType,
  Kind,
  visit,
  BREAK,
  type DirectiveNode,
  type DocumentNode,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLOutputType,
  type GraphQLSchema,
  type SelectionSetNode,
} from 'graphql';

export type ResponsePath = (string | number)[];
type Data = Record<string, unknown>;

/** Whether a directive list holds `@skip`/`@include`/`@defer` whose `if` is true for `variables`. */
function directiveIf(
  directives: readonly DirectiveNode[] | undefined,
  name: string,
  variables: Record<string, unknown>,
): boolean | undefined {
  const directive = directives?.find((d) => d.name.value === name);
  if (!directive) return undefined;
  const condition = directive.arguments?.find((arg) => arg.name.value === 'if')?.value;
  if (!condition) return true;
  if (condition.kind === Kind.BOOLEAN) return condition.value;
  if (condition.kind === Kind.VARIABLE) return variables[condition.name.value] === true;
  return true;
}

const skipped = (
  directives: readonly DirectiveNode[] | undefined,
  variables: Record<string, unknown>,
) =>
  directiveIf(directives, 'skip', variables) === true ||
  directiveIf(directives, 'include', variables) === false;

/** True when the document applies `@defer` anywhere, whatever its `if`. */
export function usesDefer(document: DocumentNode): boolean {
  let found = false;
  visit(document, {
    Directive(node) {
      if (node.name.value !== 'defer') return;
      found = true;
      return BREAK;
    },
  });
  return found;
}

/**
 * The document as the first part answers it: every fragment that is deferred for these variables
 * taken out, with what it alone selects. The planner puts whatever is also selected elsewhere in
 * the primary part, and the rest arrives later.
 */
export function withoutDeferred(
  document: DocumentNode,
  variables: Record<string, unknown>,
): DocumentNode {
  const deferred = (node: { directives?: readonly DirectiveNode[] }) =>
    directiveIf(node.directives, 'defer', variables) === true ? null : undefined;
  let stripped = visit(document, {
    InlineFragment: {
      enter: deferred,
      // An inline fragment that held only deferred parts goes too: it would select nothing.
      leave: (node) => (node.selectionSet.selections.length === 0 ? null : undefined),
    },
    FragmentSpread: deferred,
  });
  // So does a named fragment that held only deferred parts, with its spreads, until none is left
  // empty: the operation builder refuses an empty fragment ("Invalid empty selection set").
  for (;;) {
    const empty = new Set(
      stripped.definitions.flatMap((definition) =>
        definition.kind === Kind.FRAGMENT_DEFINITION &&
        definition.selectionSet.selections.length === 0
          ? [definition.name.value]
          : [],
      ),
    );
    if (empty.size === 0) return stripped;
    const gone = (node: { name: { value: string } }) =>
      empty.has(node.name.value) ? null : undefined;
    stripped = visit(stripped, { FragmentDefinition: gone, FragmentSpread: gone });
  }
}

/** The instances of a deferred fragment: each position its query path reaches in the data. */
export function instancesAt(
  delivered: Data,
  raw: Data,
  queryPath: readonly string[],
  schema: GraphQLSchema,
): { path: ResponsePath; type: GraphQLNamedType | undefined }[] {
  let positions: { path: ResponsePath; value: unknown; type: GraphQLNamedType | undefined }[] = [
    { path: [], value: delivered, type: schema.getQueryType() ?? undefined },
  ];
  for (const element of queryPath) {
    const next: typeof positions = [];
    for (const position of positions) {
      if (element.startsWith('... on ')) {
        const condition = schema.getType(element.slice('... on '.length));
        const concrete = concreteType(schema, position.type, valueAt(raw, position.path));
        if (condition && concrete && applies(schema, condition, concrete))
          next.push({ ...position, type: concrete });
        continue;
      }
      const parent = position.type;
      const field = parent && 'getFields' in parent ? parent.getFields()[element] : undefined;
      const expand = (value: unknown, path: ResponsePath) => {
        if (value === null || value === undefined) return;
        if (Array.isArray(value)) {
          value.forEach((item, index) => expand(item, [...path, index]));
          return;
        }
        const type = field ? unwrap(field.type as GraphQLOutputType) : undefined;
        next.push({ path, value, type: concreteType(schema, type, valueAt(raw, path)) });
      };
      expand((position.value as Data | null)?.[element], [...position.path, element]);
    }
    positions = next;
  }
  return positions.map(({ path, type }) => ({ path, type }));
}

function unwrap(type: GraphQLOutputType): GraphQLNamedType {
  let inner: GraphQLOutputType = type;
  while ('ofType' in inner) inner = inner.ofType as GraphQLOutputType;
  return inner;
}

function concreteType(
  schema: GraphQLSchema,
  type: GraphQLNamedType | undefined,
  raw: unknown,
): GraphQLNamedType | undefined {
  const typename = (raw as { __typename?: unknown } | null)?.__typename;
  if (type && isAbstractType(type) && typeof typename === 'string')
    return schema.getType(typename) ?? type;
  return type;
}

function applies(
  schema: GraphQLSchema,
  condition: GraphQLNamedType,
  type: GraphQLNamedType,
): boolean {
  if (condition === type) return true;
  return isAbstractType(condition) && isObjectType(type) && schema.isSubType(condition, type);
}

export function valueAt(data: unknown, path: ResponsePath): unknown {
  let value = data;
  for (const key of path) {
    if (value === null || value === undefined) return undefined;
    value = (value as Record<string | number, unknown>)[key];
  }
  return value;
}

/** Copies `source` into `target` in place, the way a client assembles the parts. */
export function mergeInto(target: Data, source: Data): void {
  for (const [key, value] of Object.entries(source)) {
    const existing = target[key];
    if (Array.isArray(existing) && Array.isArray(value)) {
      value.forEach((item, index) => {
        if (isRecord(existing[index]) && isRecord(item)) mergeInto(existing[index], item);
        else existing[index] = item;
      });
    } else if (isRecord(existing) && isRecord(value)) mergeInto(existing, value);
    else target[key] = value;
  }
}

export const isRecord = (value: unknown): value is Data =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const BUBBLE = Symbol('null bubbles up');

/**
 * A deferred fragment's answer at one instance: the fields its selection names, read from the
 * gateway's raw data (keyed by response name, as the subgraphs answered). A null in a non-null
 * position nulls the nearest nullable field inside the fragment, or the fragment's whole data:
 * the fragment is the boundary, so what the first part delivered stays.
 */
export function shapeDeferred(
  schema: GraphQLSchema,
  type: GraphQLObjectType,
  selectionSet: SelectionSetNode,
  raw: Data,
  path: ResponsePath,
  variables: Record<string, unknown>,
): { data: Data | null; nulls: GraphQLError[] } {
  const nulls: GraphQLError[] = [];

  const completeObject = (
    parent: GraphQLObjectType,
    set: SelectionSetNode,
    value: Data,
    at: ResponsePath,
    out: Data,
  ): Data | typeof BUBBLE => {
    for (const selection of set.selections) {
      if (skipped(selection.directives, variables)) continue;
      if (selection.kind === Kind.FRAGMENT_SPREAD) continue;
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        const condition = selection.typeCondition
          ? schema.getType(selection.typeCondition.name.value)
          : parent;
        if (!condition || !applies(schema, condition, parent)) continue;
        if (completeObject(parent, selection.selectionSet, value, at, out) === BUBBLE)
          return BUBBLE;
        continue;
      }
      const key = selection.alias?.value ?? selection.name.value;
      if (selection.name.value === '__typename') {
        out[key] = parent.name;
        continue;
      }
      const field = parent.getFields()[selection.name.value];
      if (!field) continue;
      const completed = complete(
        field.type,
        value[key],
        selection.selectionSet,
        [...at, key],
        `${parent.name}.${field.name}`,
      );
      if (completed === BUBBLE) return BUBBLE;
      out[key] =
        isRecord(out[key]) && isRecord(completed) ? { ...out[key], ...completed } : completed;
    }
    return out;
  };

  const complete = (
    type: GraphQLOutputType,
    value: unknown,
    set: SelectionSetNode | undefined,
    at: ResponsePath,
    coordinate: string,
  ): unknown => {
    let result: unknown = null;
    const inner = getNullableType(type);
    if (value !== null && value !== undefined) {
      if (isListType(inner)) {
        result = Array.isArray(value) ? [] : null;
        if (Array.isArray(value)) {
          for (let index = 0; index < value.length; index++) {
            const item = complete(inner.ofType, value[index], set, [...at, index], coordinate);
            if (item === BUBBLE) {
              result = null;
              break;
            }
            (result as unknown[]).push(item);
          }
        }
      } else if (set && isRecord(value)) {
        const named = concreteType(schema, inner as GraphQLNamedType, value);
        result = isObjectType(named) ? completeObject(named, set, value, at, {}) : null;
        if (result === BUBBLE) result = null;
      } else {
        result = value;
      }
    } else if (isNonNullType(type)) {
      nulls.push(
        new GraphQLError(`Cannot return null for non-nullable field ${coordinate}`, { path: at }),
      );
    }
    return result === null && isNonNullType(type) ? BUBBLE : result;
  };

  const data = completeObject(type, selectionSet, raw, path, {});
  return { data: data === BUBBLE ? null : data, nulls };
}
