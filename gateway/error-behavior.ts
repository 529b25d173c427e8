import type { ApolloGateway } from '@apollo/gateway';
import type { ApolloServerPlugin } from '@apollo/server';
import type {
  GatewayExecutionResult,
  GatewayExecutor,
  GatewayGraphQLRequestContext,
  GatewayInterface,
} from '@apollo/server-gateway-interface';
import {
  getNamedType,
  getNullableType,
  GraphQLError,
  isAbstractType,
  isListType,
  isNonNullType,
  isObjectType,
  Kind,
  parse,
  print,
  visit,
  type DirectiveNode,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLOutputType,
  type GraphQLSchema,
  type SelectionSetNode,
  type TypeNode,
} from 'graphql';
import type { GatewayContext } from './context.js';

/**
 * The GraphQL spec proposal "error behaviors" (graphql-spec#1163): a request parameter `onError`
 * that picks what an error in a non-null position does. `PROPAGATE` (the spec as it stands, and our
 * default) nulls the nearest nullable ancestor; `NULL` leaves null at the errored position only,
 * so one subgraph down costs only its own fields; `HALT` answers `data: null` at the first error.
 */
export const ERROR_BEHAVIORS = ['PROPAGATE', 'NULL', 'HALT'] as const;
export type ErrorBehavior = (typeof ERROR_BEHAVIORS)[number];

/**
 * The request's `onError`, from a POST body or a GET query string; undefined when absent. Over the
 * WebSocket it is a field of the `subscribe` payload, handed over as `requestedOnError`.
 */
function requestedBehavior(http: { body?: unknown; search?: string } | undefined): unknown {
  const body = http?.body;
  if (body && typeof body === 'object' && 'onError' in body) return body.onError;
  return new URLSearchParams(http?.search ?? '').get('onError') ?? undefined;
}

/** Reads and checks `onError` (an unknown value is a request error, HTTP 400) into the context. */
export const errorBehavior: ApolloServerPlugin<GatewayContext> = {
  async requestDidStart({ request, contextValue }) {
    const value =
      contextValue.requestedOnError ??
      requestedBehavior(request.http as { body?: unknown; search?: string });
    if (value === undefined) return;
    return {
      // Before execution, where a thrown error is a clean request error.
      async didResolveOperation() {
        if (!ERROR_BEHAVIORS.includes(value as ErrorBehavior)) {
          throw new GraphQLError(`onError must be one of ${ERROR_BEHAVIORS.join(', ')}`, {
            extensions: { code: 'BAD_REQUEST', http: { status: 400 } },
          });
        }
        contextValue.errorBehavior = value as ErrorBehavior;
      },
    };
  },
};

/**
 * The supergraph with every output field nullable, arguments untouched. The same subgraphs, the
 * same query plans; only the gateway's result shaping no longer nulls the parents of a missing
 * non-null field.
 */
export function relaxedSupergraph(sdl: string): string {
  const nullable = (type: TypeNode): TypeNode => {
    if (type.kind === Kind.NON_NULL_TYPE) return nullable(type.type);
    if (type.kind === Kind.LIST_TYPE) return { ...type, type: nullable(type.type) };
    return type;
  };
  const relaxFields = <T extends { fields?: readonly { type: TypeNode }[] }>(node: T): T => ({
    ...node,
    fields: node.fields?.map((field) => ({ ...field, type: nullable(field.type) })),
  });
  return print(
    visit(parse(sdl), {
      ObjectTypeDefinition: relaxFields,
      ObjectTypeExtension: relaxFields,
      InterfaceTypeDefinition: relaxFields,
      InterfaceTypeExtension: relaxFields,
    }),
  );
}

/** For each `Type.field`, the subgraphs that resolve it, from the supergraph's join directives. */
export function fieldOwners(sdl: string): Map<string, string[]> {
  const document = parse(sdl);
  const graphs = new Map<string, string>();
  const argument = (
    directive: { arguments?: readonly { name: { value: string }; value: unknown }[] },
    name: string,
  ) => {
    const value = directive.arguments?.find((arg) => arg.name.value === name)?.value as
      { kind: string; value?: string } | undefined;
    return value && 'value' in value ? String(value.value) : undefined;
  };
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.ENUM_TYPE_DEFINITION || definition.name.value !== 'join__Graph')
      continue;
    for (const value of definition.values ?? []) {
      const directive = value.directives?.find((d) => d.name.value === 'join__graph');
      const name = directive && argument(directive, 'name');
      if (name) graphs.set(value.name.value, name);
    }
  }
  const owners = new Map<string, string[]>();
  for (const definition of document.definitions) {
    if (
      definition.kind !== Kind.OBJECT_TYPE_DEFINITION &&
      definition.kind !== Kind.INTERFACE_TYPE_DEFINITION
    )
      continue;
    const typeGraphs = (definition.directives ?? [])
      .filter((d) => d.name.value === 'join__type')
      .map((d) => graphs.get(argument(d, 'graph') ?? ''))
      .filter((name): name is string => name !== undefined);
    for (const field of definition.fields ?? []) {
      const joined = (field.directives ?? []).filter((d) => d.name.value === 'join__field');
      const fieldGraphs = joined
        .filter((d) => argument(d, 'external') !== 'true')
        .map((d) => graphs.get(argument(d, 'graph') ?? ''))
        .filter((name): name is string => name !== undefined);
      owners.set(
        `${definition.name.value}.${field.name.value}`,
        joined.length > 0 ? fieldGraphs : typeGraphs,
      );
    }
  }
  return owners;
}

interface Hole {
  path: (string | number)[];
  coordinate: string;
}

/**
 * Every position where the strict schema wants a value and `data` holds null: what a failed
 * fetch leaves behind once result shaping no longer propagates it.
 */
export function nonNullHoles(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null,
  variables: Record<string, unknown>,
  data: Record<string, unknown>,
): Hole[] {
  const operation = document.definitions.find(
    (d) =>
      d.kind === Kind.OPERATION_DEFINITION &&
      (operationName === null || d.name?.value === operationName),
  );
  if (operation?.kind !== Kind.OPERATION_DEFINITION) return [];
  const fragments = new Map(
    document.definitions
      .filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION)
      .map((d) => [d.name.value, d]),
  );
  const root = schema.getRootType(operation.operation);
  if (!root) return [];
  const holes: Hole[] = [];
  const seen = new Set<string>();
  const skipped = (node: { directives?: readonly DirectiveNode[] }) =>
    (node.directives ?? []).some((directive) => {
      const condition = directive.arguments?.find((arg) => arg.name.value === 'if')?.value;
      const value =
        condition?.kind === Kind.VARIABLE
          ? variables[condition.name.value]
          : condition?.kind === Kind.BOOLEAN
            ? condition.value
            : undefined;
      return (
        (directive.name.value === 'skip' && value === true) ||
        (directive.name.value === 'include' && value === false)
      );
    });

  const walkValue = (
    type: GraphQLOutputType,
    value: unknown,
    path: (string | number)[],
    coordinate: string,
    selectionSet: SelectionSetNode | undefined,
  ) => {
    if (value === null || value === undefined) {
      const key = path.join('.');
      if (isNonNullType(type) && !seen.has(key)) {
        seen.add(key);
        holes.push({ path: [...path], coordinate });
      }
      return;
    }
    const inner = getNullableType(type);
    if (isListType(inner)) {
      if (Array.isArray(value))
        value.forEach((item, index) =>
          walkValue(inner.ofType, item, [...path, index], coordinate, selectionSet),
        );
      return;
    }
    if (!selectionSet || typeof value !== 'object') return;
    const named = getNamedType(inner);
    const typename = (value as { __typename?: unknown }).__typename;
    const concrete =
      isAbstractType(named) && typeof typename === 'string' ? schema.getType(typename) : named;
    walkSelections(concrete, selectionSet, value as Record<string, unknown>, path);
  };

  const walkSelections = (
    parentType: ReturnType<GraphQLSchema['getType']>,
    selectionSet: SelectionSetNode,
    value: Record<string, unknown>,
    path: (string | number)[],
  ) => {
    for (const selection of selectionSet.selections) {
      if (skipped(selection)) continue;
      if (selection.kind === Kind.FIELD) {
        if (!isObjectType(parentType) || selection.name.value.startsWith('__')) continue;
        const field = parentType.getFields()[selection.name.value];
        if (!field) continue;
        const key = selection.alias?.value ?? selection.name.value;
        walkValue(
          field.type,
          value[key],
          [...path, key],
          `${parentType.name}.${field.name}`,
          selection.selectionSet,
        );
        continue;
      }
      const fragment =
        selection.kind === Kind.FRAGMENT_SPREAD ? fragments.get(selection.name.value) : selection;
      if (!fragment) continue;
      const condition = fragment.typeCondition?.name.value;
      // Without a __typename in the data a type condition cannot be decided: no hole is claimed.
      if (condition && condition !== parentType?.name) continue;
      walkSelections(parentType, fragment.selectionSet, value, path);
    }
  };

  walkSelections(root, operation.selectionSet, data, []);
  return holes;
}

const isUnavailable = (error: GraphQLError) => error.extensions?.code === 'SUBGRAPH_UNAVAILABLE';

/**
 * `onError: "NULL"`: each null in a non-null position gets an error of its own with its path,
 * naming the unavailable subgraph that owns the field. A subgraph's path-less error stays only
 * when no position was traced back to it.
 */
function localizeErrors(
  result: GatewayExecutionResult,
  context: GatewayGraphQLRequestContext,
  owners: Map<string, string[]>,
): GatewayExecutionResult {
  if (!result.data) return result;
  const errors = [...(result.errors ?? [])];
  /** Each unavailable subgraph's fetch error, whose cause the log shows. */
  const down = new Map(
    errors.filter(isUnavailable).map((error) => [String(error.extensions.subgraph), error]),
  );
  const reported = new Set(errors.map((error) => error.path?.join('.')));
  const explained = new Set<string>();
  const located: GraphQLError[] = [];
  for (const hole of nonNullHoles(
    context.schema,
    context.document,
    context.operationName,
    context.request.variables ?? {},
    result.data,
  )) {
    if (reported.has(hole.path.join('.'))) continue;
    const subgraph = owners.get(hole.coordinate)?.find((name) => down.has(name));
    if (subgraph) explained.add(subgraph);
    located.push(
      subgraph
        ? new GraphQLError(`The ${subgraph} subgraph is unavailable: no ${hole.coordinate}`, {
            path: hole.path,
            originalError: down.get(subgraph)?.originalError ?? undefined,
            extensions: { code: 'SUBGRAPH_UNAVAILABLE', subgraph },
          })
        : new GraphQLError(`Cannot return null for non-nullable field ${hole.coordinate}`, {
            path: hole.path,
          }),
    );
  }
  const kept = errors.filter(
    (error) => !(isUnavailable(error) && explained.has(String(error.extensions.subgraph))),
  );
  const all = [...kept, ...located];
  return { ...result, errors: all.length > 0 ? all : undefined };
}

/**
 * Apollo Server's gateway: the strict gateway for every request by default, and for
 * `onError: "NULL"` a second gateway over the relaxed supergraph, whose result then gets an error
 * per null position. `@apollo/gateway` has no switch for its null propagation, hence two; the
 * second is built on the first `NULL` request only (its planner costs about 1.6 MB of heap, and
 * each plan about 5 KB more, measured with 300 feed queries), so a gateway whose clients never ask
 * for it pays nothing, and `relaxed` should be given a small plan store.
 */
export function errorBehaviorGateway(
  strict: GatewayInterface,
  relaxed: () => ApolloGateway,
): GatewayInterface {
  let owners = new Map<string, string[]>();
  strict.onSchemaLoadOrUpdate(({ coreSupergraphSdl }) => {
    owners = fieldOwners(coreSupergraphSdl);
  });
  let relaxedGateway: ApolloGateway | undefined;
  let relaxedExecutor: Promise<GatewayExecutor> | undefined;
  return {
    onSchemaLoadOrUpdate: (callback) => strict.onSchemaLoadOrUpdate(callback),
    async load(options) {
      const strictExecutor = (await strict.load(options)).executor as GatewayExecutor;
      const loadRelaxed = () => {
        relaxedGateway = relaxed();
        const loading = relaxedGateway
          .load(options)
          .then((loaded) => loaded.executor as GatewayExecutor);
        // A failed load is retried by the next NULL request rather than remembered.
        loading.catch(() => {
          relaxedExecutor = undefined;
        });
        return loading;
      };
      return {
        async executor(context) {
          const behavior = (context.context as Partial<GatewayContext>).errorBehavior;
          if (behavior === 'NULL') {
            const execute = await (relaxedExecutor ??= loadRelaxed());
            return localizeErrors(await execute(context), context, owners);
          }
          const result = await strictExecutor(context);
          if (behavior === 'HALT' && result.errors?.length)
            return { data: null, errors: result.errors.slice(0, 1) };
          return result;
        },
      };
    },
    async stop() {
      await Promise.all([strict.stop(), relaxedGateway?.stop()]);
    },
  };
}
