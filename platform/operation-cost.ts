import {
  GraphQLError,
  GraphQLInterfaceType,
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  Kind,
  SchemaMetaFieldDef,
  TypeMetaFieldDef,
  TypeNameMetaFieldDef,
  isAbstractType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
  valueFromASTUntyped,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLOutputType,
  type GraphQLSchema,
  type GraphQLType,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';

/**
 * The one cost model of every operation, on every transport, at the gateway and again in each
 * subgraph: pure (a schema, a parsed document, the variables), so it is unit-tested without a
 * server. Introspection is measured like any other selection: it is where documents of a few
 * hundred kilobytes ask for gigabytes.
 */

export interface OperationLimits {
  /** Deepest nesting of fields, fragments expanded (`ofType` excepted, see `OF_TYPE`). */
  maxDepth: number;
  /** Most aliased fields, every use of a fragment counted. */
  maxAliases: number;
  /** Most fields in the whole operation, every alias and every use of a fragment counted. */
  maxFields: number;
  /** Most result values the operation may ask for: fields weighted by the sizes of the lists around them. */
  maxCost: number;
  /** Most representations of one `_entities` field (subgraphs only; the API has no `_entities`). */
  maxEntities: number;
}

export interface OperationCost {
  depth: number;
  aliases: number;
  fields: number;
  cost: number;
  /** The largest `_entities` batch of the operation (0 when there is none). */
  entities: number;
}

/**
 * The size assumed for a list with no `first`/`last`/`limit` argument (nor a default for one): the
 * lists of this API without one are short by contract (a post's 1 to 10 media).
 */
export const DEFAULT_LIST_SIZE = 10;

/**
 * The largest page a list serves (the contract's `first` is 1 to 100). A larger size argument is
 * counted as this: its resolver refuses it with BAD_USER_INPUT, the error the client should get.
 */
export const MAX_LIST_SIZE = 100;

/** Arguments that bound the size of the list a field returns, or of its connection's edges. */
const SIZE_ARGUMENTS = ['first', 'last', 'limit'];

/**
 * `ofType` only walks down the wrappers of one type reference (`[Post!]!` has three), so past the
 * schema's most wrapped reference it is null, whatever the nesting asked; tools' standard
 * introspection query nests it nine deep. So it adds no depth, and a level past the wrappers costs
 * one value (the null); every level still counts as a field, which bounds a longer chain.
 */
const OF_TYPE = 'ofType';

/** Where a selection set sits, beyond its type. */
interface Around {
  /** The size argument of the enclosing connection field, which sizes the edges below it. */
  size: number | undefined;
  /** How many `ofType` levels down the selection set is. */
  wrappers: number;
}

const TOP: Around = { size: undefined, wrappers: 0 };

interface Weights {
  /** Sizes of introspection lists by `<type>.<field>`. */
  lists: Map<string, number>;
  /** Most wrappers (`[...]`, `!`) around any type reference of the schema: `[Post!]!` has 3. */
  wrapping: number;
}

const mean = (counts: number[]) =>
  counts.reduce((sum, n) => sum + n, 0) / Math.max(counts.length, 1);

function wrappersOf(type: GraphQLType): number {
  return 'ofType' in type ? 1 + wrappersOf(type.ofType) : 0;
}

/**
 * Sizes of the introspection lists, from the schema itself, so that the standard introspection
 * query costs about what its answer holds: `__Schema.types` is every type, `__Type.fields` the
 * mean number of fields per type (most types have none), and so on.
 */
function introspectionWeights(schema: GraphQLSchema): Weights {
  const types = Object.values(schema.getTypeMap());
  const fieldsOf = (type: GraphQLNamedType) =>
    isObjectType(type) || isInterfaceType(type) ? Object.values(type.getFields()) : [];
  const inputFieldsOf = (type: GraphQLNamedType) =>
    isInputObjectType(type) ? Object.values(type.getFields()) : [];
  const fields = types.flatMap(fieldsOf);
  const directives = schema.getDirectives();
  const references = [
    ...fields.map((field) => field.type),
    ...types.flatMap(inputFieldsOf).map((field) => field.type),
    ...fields.flatMap((field) => field.args.map((arg) => arg.type)),
    ...directives.flatMap((directive) => directive.args.map((arg) => arg.type)),
  ];
  const lists = new Map([
    ['__Schema.types', types.length],
    ['__Schema.directives', directives.length],
    ['__Type.fields', mean(types.map((type) => fieldsOf(type).length))],
    ['__Type.inputFields', mean(types.map((type) => inputFieldsOf(type).length))],
    [
      '__Type.enumValues',
      mean(types.map((type) => (isEnumType(type) ? type.getValues().length : 0))),
    ],
    [
      '__Type.interfaces',
      mean(
        types.map((type) =>
          isObjectType(type) || isInterfaceType(type) ? type.getInterfaces().length : 0,
        ),
      ),
    ],
    [
      '__Type.possibleTypes',
      mean(types.map((type) => (isAbstractType(type) ? schema.getPossibleTypes(type).length : 0))),
    ],
    ['__Field.args', mean(fields.map((field) => field.args.length))],
    ['__Directive.args', mean(directives.map((directive) => directive.args.length))],
    ['__Directive.locations', mean(directives.map((directive) => directive.locations.length))],
  ]);
  return { lists, wrapping: Math.max(0, ...references.map(wrappersOf)) };
}

const weightsBySchema = new WeakMap<GraphQLSchema, Weights>();

function weightsOf(schema: GraphQLSchema): Weights {
  let weights = weightsBySchema.get(schema);
  if (!weights) {
    weights = introspectionWeights(schema);
    weightsBySchema.set(schema, weights);
  }
  return weights;
}

interface Size {
  depth: number;
  aliases: number;
  fields: number;
  cost: number;
  entities: number;
}

const NOTHING: Size = { depth: 0, aliases: 0, fields: 0, cost: 0, entities: 0 };

function fieldDefinition(
  schema: GraphQLSchema,
  parent: GraphQLNamedType | undefined,
  name: string,
): GraphQLField<unknown, unknown> | undefined {
  if (name === '__typename') return TypeNameMetaFieldDef;
  if (parent && parent === schema.getQueryType()) {
    if (name === '__schema') return SchemaMetaFieldDef;
    if (name === '__type') return TypeMetaFieldDef;
  }
  // Plain `instanceof`: graphql's `isObjectType` checks class names too outside production, a
  // cost paid per field of every request.
  return parent instanceof GraphQLObjectType || parent instanceof GraphQLInterfaceType
    ? parent.getFields()[name]
    : undefined;
}

/** The type inside the wrappers, and whether the outermost nullable one is a list. */
function unwrap(type: GraphQLOutputType): { named: GraphQLNamedType; isList: boolean } {
  const nullable = type instanceof GraphQLNonNull ? type.ofType : type;
  let named: GraphQLType = nullable;
  while (named instanceof GraphQLList || named instanceof GraphQLNonNull) named = named.ofType;
  return { named: named as GraphQLNamedType, isList: nullable instanceof GraphQLList };
}

function argumentValue(node: FieldNode, name: string, variables: Record<string, unknown>): unknown {
  const argument = node.arguments?.find((candidate) => candidate.name.value === name);
  return argument ? valueFromASTUntyped(argument.value, variables) : undefined;
}

/** The value of the first size argument given, else its default in the schema. */
function sizeArgument(
  node: FieldNode,
  definition: GraphQLField<unknown, unknown> | undefined,
  variables: Record<string, unknown>,
): number | undefined {
  if (!node.arguments?.length && !definition?.args.length) return undefined;
  for (const name of SIZE_ARGUMENTS) {
    const given = argumentValue(node, name, variables);
    const value = given ?? definition?.args.find((arg) => arg.name === name)?.defaultValue;
    if (typeof value === 'number') return Math.min(Math.max(0, value), MAX_LIST_SIZE);
  }
  return undefined;
}

/**
 * The size of a list asked for by a list of keys (`postCounts(postIds: [...])`): one item per key,
 * the longest list argument given, up to `MAX_LIST_SIZE`. Undefined when no argument is a list.
 */
function keyedSize(node: FieldNode, variables: Record<string, unknown>): number | undefined {
  let longest: number | undefined;
  for (const argument of node.arguments ?? []) {
    const value = valueFromASTUntyped(argument.value, variables);
    if (Array.isArray(value)) longest = Math.max(longest ?? 0, value.length);
  }
  return longest === undefined ? undefined : Math.min(longest, MAX_LIST_SIZE);
}

/** Costs already measured, per operation: the variables they read, and a cost per their values. */
interface Measured {
  schema: GraphQLSchema;
  /** The variables the measure read, in the order it read them. */
  reads: string[];
  byValues: Map<string, OperationCost>;
}

/**
 * Costs of operations seen before. Apollo Server hands the same parsed document for the same text
 * (its document cache), so a client's repeated operation is measured once; the entry lives as long
 * as the document does.
 */
const measuredCosts = new WeakMap<OperationDefinitionNode, Measured>();

/** Most variants of one operation's cost kept (an `_entities` batch of each size is one). */
const MAX_VARIANTS = 64;

/**
 * What of a variable's value can change a cost: a number (a size argument), a list's length (the
 * representations of `_entities`), or only its kind; the measure reads nothing else of it.
 */
function costKeyOf(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (Array.isArray(value)) return `[${value.length}]`;
  return value === null ? 'null' : typeof value;
}

/** The key of `variables`' values of the variables named in `reads`. */
function valuesKey(reads: readonly string[], variables: Record<string, unknown>): string {
  return reads.map((name) => costKeyOf(variables[name])).join(',');
}

/**
 * `variables` with each variable they leave out at its default in the operation, as execution
 * sees it: `query($n: Int = 100) { feed(first: $n) … }` sent without `n` asks for 100 posts.
 */
function withDefaults(
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
): Record<string, unknown> {
  let merged: Record<string, unknown> | undefined;
  for (const definition of operation.variableDefinitions ?? []) {
    const name = definition.variable.name.value;
    if (!definition.defaultValue || Object.hasOwn(variables, name)) continue;
    merged ??= { ...variables };
    merged[name] = valueFromASTUntyped(definition.defaultValue);
  }
  return merged ?? variables;
}

/**
 * Measures `operation` of `document` against `schema`, or finds it measured: the same operation
 * with the same values of the variables its measure read (see `costKeyOf`) costs the same.
 */
export function operationCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  given: Record<string, unknown> = {},
): OperationCost {
  const variables = withDefaults(operation, given);
  const known = measuredCosts.get(operation);
  const hit =
    known?.schema === schema ? known.byValues.get(valuesKey(known.reads, variables)) : undefined;
  if (hit) return hit;
  const reads: string[] = [];
  // Records the variables the measure reads: their values are all a cost depends on beyond the
  // document, which makes them the cache key.
  const recording = new Proxy(variables, {
    get(target, name) {
      if (typeof name === 'string' && !reads.includes(name)) reads.push(name);
      return Reflect.get(target, name) as unknown;
    },
  });
  const cost = measure(schema, document, operation, recording);
  const entry =
    known?.schema === schema && known.reads.join(',') === reads.join(',')
      ? known
      : { schema, reads, byValues: new Map<string, OperationCost>() };
  if (entry.byValues.size >= MAX_VARIANTS) entry.byValues.clear();
  entry.byValues.set(valuesKey(reads, variables), cost);
  measuredCosts.set(operation, entry);
  return cost;
}

/**
 * Measures `operation` of `document` against `schema`. Each fragment is measured once per use
 * context and reused, so a document built to explode (fragments that spread each other many times)
 * costs linear time to measure; counts may reach Infinity, never wrap.
 */
function measure(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
): OperationCost {
  const weights = weightsOf(schema);
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION)
      fragments.set(definition.name.value, definition);
  }
  const measured = new Map<string, Size>();

  const ofField = (node: FieldNode, parent: GraphQLNamedType | undefined, around: Around): Size => {
    const name = node.name.value;
    const definition = fieldDefinition(schema, parent, name);
    const unwrapped = definition && unwrap(definition.type);
    const isList = unwrapped?.isList ?? false;
    const size = sizeArgument(node, definition, variables);
    let multiplier = 1;
    let entities = 0;
    if (name === '_entities') {
      const representations = argumentValue(node, 'representations', variables);
      entities = Array.isArray(representations) ? representations.length : 0;
      multiplier = entities;
    } else if (isList) {
      multiplier =
        size ??
        around.size ??
        keyedSize(node, variables) ??
        (parent ? weights.lists.get(`${parent.name}.${name}`) : undefined) ??
        DEFAULT_LIST_SIZE;
    }
    const type = unwrapped?.named;
    const wrappers = name === OF_TYPE ? around.wrappers + 1 : 0;
    const inner = node.selectionSet
      ? ofSet(node.selectionSet, type, { size: isList ? undefined : size, wrappers })
      : NOTHING;
    return {
      depth: inner.depth + (name === OF_TYPE ? 0 : 1),
      aliases: inner.aliases + (node.alias ? 1 : 0),
      fields: inner.fields + 1,
      cost: wrappers > weights.wrapping ? 1 : multiplier * (1 + inner.cost),
      entities: Math.max(entities, inner.entities),
    };
  };

  const ofFragment = (name: string, around: Around): Size => {
    const key = `${name}:${around.size ?? ''}:${around.wrappers}`;
    const cached = measured.get(key);
    if (cached) return cached;
    const fragment = fragments.get(name);
    // Validation refuses cycles; were one to get here, it would count as empty, not loop.
    measured.set(key, NOTHING);
    const size = fragment
      ? ofSet(fragment.selectionSet, schema.getType(fragment.typeCondition.name.value), around)
      : NOTHING;
    measured.set(key, size);
    return size;
  };

  function ofSet(
    set: SelectionSetNode,
    parent: GraphQLNamedType | undefined,
    around: Around,
  ): Size {
    const total = { ...NOTHING };
    for (const selection of set.selections) {
      const size =
        selection.kind === Kind.FIELD
          ? ofField(selection, parent, around)
          : selection.kind === Kind.INLINE_FRAGMENT
            ? ofSet(
                selection.selectionSet,
                selection.typeCondition
                  ? schema.getType(selection.typeCondition.name.value)
                  : parent,
                around,
              )
            : ofFragment(selection.name.value, around);
      total.depth = Math.max(total.depth, size.depth);
      total.aliases += size.aliases;
      total.fields += size.fields;
      total.cost += size.cost;
      total.entities = Math.max(total.entities, size.entities);
    }
    return total;
  }

  const root = schema.getRootType(operation.operation) ?? undefined;
  const size = ofSet(operation.selectionSet, root, TOP);
  return { ...size, cost: Math.ceil(size.cost) };
}

/** What makes `cost` exceed `limits`, in words, or undefined. */
export function costProblem(cost: OperationCost, limits: OperationLimits): string | undefined {
  if (cost.depth > limits.maxDepth)
    return `is nested ${cost.depth} deep, more than ${limits.maxDepth}`;
  if (cost.aliases > limits.maxAliases)
    return `has ${cost.aliases} aliases, more than ${limits.maxAliases}`;
  if (cost.fields > limits.maxFields)
    return `selects ${cost.fields} fields, more than ${limits.maxFields}`;
  if (cost.entities > limits.maxEntities)
    return `asks for ${cost.entities} entities at once, more than ${limits.maxEntities}`;
  if (cost.cost > limits.maxCost)
    return `may return about ${cost.cost} values, more than ${limits.maxCost}`;
  return undefined;
}

/** The refusal of every limit: the client asked for too much, HTTP 400. */
export function tooComplex(message: string): GraphQLError {
  return new GraphQLError(message, {
    extensions: { code: 'QUERY_TOO_COMPLEX', http: { status: 400 } },
  });
}

/** QUERY_TOO_COMPLEX for an operation past `limits`, else undefined. */
export function checkOperationCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown> | undefined,
  limits: OperationLimits,
): GraphQLError | undefined {
  const problem = costProblem(operationCost(schema, document, operation, variables), limits);
  return problem ? tooComplex(`The operation ${problem}`) : undefined;
}
