import { ERRORS, errorCodeDef, type VariableDefinitions } from '@apollo/federation-internals';
import type { GraphQLDataSource, ServiceMap } from '@apollo/gateway';
// The package's index exports the type of a data source's options but not this enum of its kinds.
import { GraphQLDataSourceRequestKind } from '@apollo/gateway/dist/datasources/types.js';
import {
  evaluateCondition,
  type FetchNode,
  type PlanNode,
  type QueryPlanSelectionNode,
} from '@apollo/query-planner';
import type { GatewayGraphQLRequestContext } from '@apollo/server-gateway-interface';
import { trace } from '@opentelemetry/api';
import {
  GraphQLError,
  isAbstractType,
  type GraphQLFormattedError,
  type GraphQLSchema,
} from 'graphql';

type Data = Record<string, unknown>;
type ResponsePath = (string | number)[];

interface Cursor {
  /** Where `data` sits in the response, `@` standing for every element of a list. */
  path: ResponsePath;
  data: Data | Data[];
  fullResult: Data;
}

export interface PlanRun {
  services: ServiceMap;
  /** The client's variables and context: all that a plan's fetches read of its request. */
  requestContext: Pick<GatewayGraphQLRequestContext, 'request' | 'context'>;
  /** The operation's variable definitions, as `evaluateCondition` reads them. */
  variableDefinitions: VariableDefinitions;
  supergraphSchema: GraphQLSchema;
  errors: GraphQLError[];
}

/**
 * `@apollo/gateway`'s spans, under the same names, so that a trace reads the same whichever path
 * ran the plan; without a registered SDK they are no-ops.
 */
const tracer = trace.getTracer('@apollo/gateway');

/**
 * Runs a query plan into `data`, as `@apollo/gateway`'s `executeQueryPlan` does before its result
 * shaping: fetches in sequence and in parallel, each merged where its path says, a fetch's failure
 * recorded in `run.errors` with the response path it was for. Without its per-node usage-reporting
 * trace objects, which only Apollo's hosted reporting reads. Plans with `@defer`, subscriptions or
 * data rewrites are not given here (see `compiled-operations.ts`).
 */
export async function executePlan(run: PlanRun, node: PlanNode, data: Data): Promise<void> {
  await executeNode(run, node, { path: [], data, fullResult: data });
}

async function executeNode(run: PlanRun, node: PlanNode, cursor: Cursor): Promise<void> {
  switch (node.kind) {
    case 'Sequence':
      for (const child of node.nodes) await executeNode(run, child, cursor);
      return;
    case 'Parallel':
      await Promise.all(node.nodes.map((child) => executeNode(run, child, cursor)));
      return;
    case 'Flatten': {
      const data = flattenAt(cursor.data, node.path);
      if (data === undefined || data === null) return;
      await executeNode(run, node.node, {
        path: cursor.path.concat(node.path),
        data: data as Data | Data[],
        fullResult: cursor.fullResult,
      });
      return;
    }
    case 'Fetch':
      try {
        await tracer.startActiveSpan(
          'gateway.fetch',
          { attributes: { service: node.serviceName } },
          async (span) => {
            try {
              await executeFetch(run, node, cursor);
            } finally {
              span.end();
            }
          },
        );
      } catch (error) {
        run.errors.push(error as GraphQLError);
      }
      return;
    case 'Condition': {
      const holds = evaluateCondition(
        node,
        run.variableDefinitions,
        run.requestContext.request.variables,
      );
      const branch = holds ? node.ifClause : node.elseClause;
      if (branch) await executeNode(run, branch, cursor);
      return;
    }
    default:
      throw new Error(`Unexpected ${node.kind} node in a compiled plan`);
  }
}

async function executeFetch(run: PlanRun, fetch: FetchNode, cursor: Cursor): Promise<void> {
  const service = run.services[fetch.serviceName];
  if (!service) throw new Error(`Couldn't find service with name "${fetch.serviceName}"`);
  const entities = Array.isArray(cursor.data)
    ? cursor.data.filter((entity) => entity !== null && entity !== undefined)
    : [cursor.data];
  if (entities.length < 1) return;

  const variables: Data = Object.create(null);
  const provided = run.requestContext.request.variables;
  for (const name of fetch.variableUsages ?? []) {
    if (provided && Object.hasOwn(provided, name) && provided[name] !== undefined) {
      variables[name] = provided[name];
    }
  }

  if (!fetch.requires) {
    const received = await send(run, service, fetch, cursor, variables);
    for (const entity of entities) deepMerge(entity, received);
    return;
  }

  const representations: Data[] = [];
  const representedEntities: Data[] = [];
  for (const entity of entities) {
    const representation = represent(run.supergraphSchema, entity, fetch.requires);
    if (representation?.__typename) {
      representations.push(representation);
      representedEntities.push(entity);
    }
  }
  if (representations.length < 1) return;
  if ('representations' in variables) {
    throw new Error(`Variables cannot contain key "representations"`);
  }
  const received = await send(run, service, fetch, cursor, { ...variables, representations });
  if (!received) return;
  const answered = received._entities;
  if (!Array.isArray(answered)) {
    throw new Error(`Expected "data._entities" in response to be an array`);
  }
  if (answered.length !== representations.length) {
    throw new Error(`Expected "data._entities" to contain ${representations.length} elements`);
  }
  answered.forEach((answer: unknown, index) => {
    const entity = representedEntities[index] as Data;
    if (isObject(answer) && !answer.__typename) answer.__typename = entity.__typename;
    deepMerge(entity, answer);
  });
}

/** One subgraph request; its errors join the run's, placed in the client's response. */
async function send(
  run: PlanRun,
  service: GraphQLDataSource,
  fetch: FetchNode,
  cursor: Cursor,
  variables: Data,
): Promise<Data | null | undefined> {
  const response = await service.process({
    kind: GraphQLDataSourceRequestKind.INCOMING_OPERATION,
    request: { query: fetch.operation, variables, operationName: fetch.operationName },
    // Our subgraph sources (`SubgraphSource`) read only the request and context of it.
    incomingRequestContext: run.requestContext as GatewayGraphQLRequestContext,
    context: run.requestContext.context,
    document: fetch.operationDocumentNode,
    pathInIncomingRequest: cursor.path,
  });
  if (response.errors) {
    const pathOf = errorPaths(fetch, cursor);
    for (const error of response.errors) {
      run.errors.push(downstreamError(error, fetch.serviceName, pathOf));
    }
  }
  return response.data as Data | null | undefined;
}

/** The representation of `source` a fetch's `requires` selects, or null when it lacks a field. */
function represent(
  schema: GraphQLSchema,
  source: Data | null,
  selections: QueryPlanSelectionNode[],
): Data | null {
  if (source === null) return null;
  const result: Data = Object.create(null);
  for (const selection of selections) {
    if (selection.kind === 'Field') {
      const name = selection.alias ?? selection.name;
      const value = Object.hasOwn(source, name) ? source[name] : undefined;
      if (value === undefined) return null;
      const nested = selection.selections;
      if (Array.isArray(value)) {
        result[name] = value.map((element: Data | null) =>
          nested ? represent(schema, element, nested) : element,
        );
      } else if (nested) {
        result[name] = represent(schema, value as Data | null, nested);
      } else {
        result[name] = value;
      }
    } else if (selection.typeCondition && isOfType(schema, source, selection.typeCondition)) {
      deepMerge(result, represent(schema, source, selection.selections));
    }
  }
  return result;
}

function isOfType(schema: GraphQLSchema, object: Data, typeCondition: string): boolean {
  const typename = object.__typename;
  if (typeof typename !== 'string' || !typename) return false;
  if (typename === typeCondition) return true;
  const type = schema.getType(typename);
  const condition = schema.getType(typeCondition);
  if (!type || !condition || !isAbstractType(condition)) return false;
  return 'getInterfaces' in type && schema.isSubType(condition, type);
}

/** The values at `path` below `value`, lists flattened where the path says `@`. */
function flattenAt(value: unknown, path: readonly (string | number)[]): unknown {
  let current = value;
  for (let index = 0; index < path.length; index++) {
    if (current === undefined || current === null) return current;
    const key = path[index];
    if (key === '@') {
      const rest = path.slice(index + 1);
      return (current as unknown[]).flatMap((element) => flattenAt(element, rest));
    }
    if (Array.isArray(current))
      throw new Error(`Unexpected array in result for path element ${key}`);
    const object = current as Data;
    current = Object.hasOwn(object, key as string) ? object[key as string] : undefined;
  }
  return current;
}

const isObject = (value: unknown): value is Data =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** `@apollo/gateway`'s `deepMerge`: objects merged key by key, equal-length lists element-wise. */
function deepMerge(target: Data, source: unknown): void {
  if (!isObject(source)) return;
  for (const key of Object.keys(source)) {
    const value = source[key];
    if (value === undefined) continue;
    // A key inherited from Object.prototype (`constructor`, …) must become the target's own.
    if (!Object.hasOwn(target, key) && key in target) {
      Object.defineProperty(target, key, {
        configurable: true,
        enumerable: true,
        value: undefined,
        writable: true,
      });
    }
    const existing = target[key];
    if (existing && isObject(value)) {
      deepMerge(existing as Data, value);
    } else if (
      Array.isArray(value) &&
      Array.isArray(existing) &&
      value.length === existing.length
    ) {
      for (let index = 0; index < value.length; index++) {
        const into: unknown = existing[index];
        const from: unknown = value[index];
        if (isObject(into) && isObject(from)) deepMerge(into, from);
        else existing[index] = from;
      }
    } else {
      target[key] = value;
    }
  }
}

/**
 * A subgraph error's path in the client's response: for an entity fetch, the position of the
 * entity it names (`_entities.<i>`), found only when an error asks for it.
 */
function errorPaths(fetch: FetchNode, cursor: Cursor) {
  let hydrated: ResponsePath[] | undefined;
  return (errorPath: readonly (string | number)[] | undefined): ResponsePath | undefined => {
    if (fetch.requires && typeof errorPath?.[1] === 'number') {
      if (!hydrated) {
        hydrated = [];
        hydratePaths([], cursor.path, cursor.fullResult, hydrated);
      }
      return [...(hydrated[errorPath[1]] ?? []), ...errorPath.slice(2)];
    }
    return errorPath ? [...cursor.path, ...errorPath] : undefined;
  };
}

function hydratePaths(
  parent: ResponsePath,
  path: readonly (string | number)[],
  data: unknown,
  result: ResponsePath[],
): void {
  if (data === null || data === undefined) return;
  const head = path[0];
  if (head === undefined) {
    result.push(parent.slice());
  } else if (head === '@') {
    (data as unknown[]).forEach((value, index) => {
      parent.push(index);
      hydratePaths(parent, path.slice(1), value, result);
      parent.pop();
    });
  } else if (Array.isArray(data)) {
    data.forEach((value: unknown, index) => {
      parent.push(index);
      hydratePaths(parent, path, value, result);
      parent.pop();
    });
  } else if (Object.hasOwn(data as Data, head)) {
    parent.push(head);
    hydratePaths(parent, path.slice(1), (data as Data)[head as string], result);
    parent.pop();
  }
}

/** `@apollo/gateway`'s `downstreamServiceError`: the subgraph's message and code, and its name. */
function downstreamError(
  original: GraphQLFormattedError,
  serviceName: string,
  pathOf: (path: readonly (string | number)[] | undefined) => ResponsePath | undefined,
): GraphQLError {
  const message = original.message || `Error while fetching subquery from service "${serviceName}"`;
  const options = {
    // As `@apollo/gateway` does: the subgraph's error as it came, for `formatError` to inspect.
    originalError: original as Error,
    path: pathOf(original.path),
    extensions: { ...original.extensions, serviceName },
  };
  const codeDef = errorCodeDef(original);
  if (!codeDef && original.extensions?.code) return new GraphQLError(message, options);
  return (codeDef ?? ERRORS.DOWNSTREAM_SERVICE_ERROR).err(message, options);
}
