import {
  buildOperationContext,
  executeQueryPlan,
  type GraphQLDataSource,
  type ServiceMap,
} from '@apollo/gateway';
import type { DeferNode, DeferredNode, FetchNode, PlanNode } from '@apollo/query-planner';
import type {
  GatewayExecutionResult,
  GatewayGraphQLRequestContext,
} from '@apollo/server-gateway-interface';
import {
  GraphQLError,
  isObjectType,
  Kind,
  OperationTypeNode,
  parse,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionNode,
  type SelectionSetNode,
} from 'graphql';
import { isDefer, type DeferredSupergraph } from './deferred-plans.js';
import {
  instancesAt,
  isRecord,
  mergeInto,
  shapeDeferred,
  valueAt,
  withoutDeferred,
  type ResponsePath,
} from './deferred-shape.js';

type Data = Record<string, unknown>;

export interface IncrementalItem {
  data: Data | null;
  path: ResponsePath;
  label?: string;
  errors?: GraphQLError[];
}

/** A part after the first, in the `deferSpec=20220824` format. */
export interface SubsequentPayload {
  incremental?: IncrementalItem[];
  hasNext: boolean;
}

export interface IncrementalResult {
  initial: GatewayExecutionResult;
  /** Absent when nothing can follow the first part (its data is null). */
  subsequent?: AsyncIterableIterator<SubsequentPayload>;
}

/** The name of the data source that hands a deferred block the data gathered before it. */
const SEED = '@deferred';
const SEED_FETCH: FetchNode = {
  kind: 'Fetch',
  serviceName: SEED,
  operation: '{__typename}',
  operationName: undefined,
  operationKind: OperationTypeNode.QUERY,
};

/**
 * The raw data of one request (keyed by response name, `__typename` and keys included, as the
 * subgraphs answered), shared by the primary part and every deferred block. Each block runs in
 * `@apollo/gateway`'s own `executeQueryPlan`, which starts from an empty object: a seed fetch
 * puts the top-level fields gathered so far in it, so the block's fetches read their
 * representations from, and merge into, the same objects. The top-level fields come from the
 * subgraphs' root answers, recorded as they pass and picked the way the gateway merges them.
 */
class SharedData {
  readonly root: Data = Object.create(null);
  private readonly answers: Data[] = [];
  readonly services: ServiceMap;

  constructor(services: Record<string, GraphQLDataSource>) {
    const recorded: ServiceMap = Object.create(null);
    for (const [name, source] of Object.entries(services)) {
      recorded[name] = {
        process: async (options) => {
          const response = await source.process(options);
          const rootFetch =
            'pathInIncomingRequest' in options &&
            options.pathInIncomingRequest?.length === 0 &&
            !options.request.variables?.representations;
          if (rootFetch && isRecord(response.data)) this.answers.push(response.data);
          return response;
        },
      };
    }
    recorded[SEED] = { process: async () => ({ data: this.root }) };
    this.services = recorded;
  }

  /** Takes in the root answers of a finished run (the gateway has merged them by then). */
  settle(): void {
    for (const answer of this.answers.splice(0)) {
      for (const [key, value] of Object.entries(answer)) {
        const existing = this.root[key];
        const mergedIntoExisting =
          (existing && isRecord(value)) ||
          (Array.isArray(existing) && Array.isArray(value) && existing.length === value.length);
        if (!mergedIntoExisting && value !== undefined) this.root[key] = value;
      }
    }
  }

  seeded(node: PlanNode | undefined): PlanNode | undefined {
    if (!node || Object.keys(this.root).length === 0) return node;
    return { kind: 'Sequence', nodes: [SEED_FETCH, node] };
  }
}

/** The operation with only `__typename` selected: a block's result is shaped by us, not by it. */
function typenameOnly(operation: OperationDefinitionNode): OperationDefinitionNode {
  return {
    ...operation,
    selectionSet: {
      kind: Kind.SELECTION_SET,
      selections: [{ kind: Kind.FIELD, name: { kind: Kind.NAME, value: '__typename' } }],
    },
  };
}

/**
 * The path from a block to each block nested in it, as selections with nothing in them: the
 * planner prints a block's subselection without its empty branches, and a branch that holds only
 * deferred fields is one. Delivered as empty objects, they give the nested blocks a place to land.
 */
function branchesTo(base: readonly string[], nested: readonly DeferredNode[]): SelectionNode[] {
  const branch = (path: readonly string[]): SelectionNode[] => {
    const [head, ...rest] = path;
    if (head === undefined) return [];
    const selectionSet: SelectionSetNode = { kind: Kind.SELECTION_SET, selections: branch(rest) };
    return head.startsWith('... on ')
      ? [
          {
            kind: Kind.INLINE_FRAGMENT,
            typeCondition: {
              kind: Kind.NAMED_TYPE,
              name: { kind: Kind.NAME, value: head.slice('... on '.length) },
            },
            selectionSet,
          },
        ]
      : [{ kind: Kind.FIELD, name: { kind: Kind.NAME, value: head }, selectionSet }];
  };
  return nested.flatMap((block) => branch(block.queryPath.slice(base.length)));
}

/** What a block delivers, per plan node: plans are cached, so each is built once. */
const selections = new WeakMap<object, SelectionSetNode>();
function selectionOf(
  owner: object,
  subselection: string | undefined,
  base: readonly string[],
  nested: readonly DeferredNode[],
): SelectionSetNode {
  let set = selections.get(owner);
  if (!set) {
    const definition = subselection ? parse(subselection).definitions[0] : undefined;
    const own =
      definition?.kind === Kind.OPERATION_DEFINITION ? definition.selectionSet : undefined;
    set = {
      kind: Kind.SELECTION_SET,
      selections: [...(own?.selections ?? []), ...branchesTo(base, nested)],
    };
    selections.set(owner, set);
  }
  return set;
}

/** A small queue the HTTP response reads the parts from as the blocks finish. */
function payloadQueue() {
  const ready: SubsequentPayload[] = [];
  let wake: (() => void) | undefined;
  async function* read(): AsyncGenerator<SubsequentPayload> {
    for (;;) {
      while (ready.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      const payload = ready.shift() as SubsequentPayload;
      yield payload;
      if (!payload.hasNext) return;
    }
  }
  return {
    push(payload: SubsequentPayload) {
      ready.push(payload);
      wake?.();
      wake = undefined;
    },
    stream: read(),
  };
}

/**
 * Runs a plan whose root is a `Defer` node: the primary part now, answered as the first result,
 * and each deferred block (and the blocks nested in it) as soon as what it depends on is there.
 */
export async function executeIncrementally(
  context: GatewayGraphQLRequestContext,
  plan: DeferNode,
  supergraph: DeferredSupergraph,
  apiSchema: GraphQLSchema,
): Promise<IncrementalResult> {
  const variables = context.request.variables ?? {};
  const shared = new SharedData(supergraph.services);
  const primaryContext = buildOperationContext({
    schema: apiSchema,
    operationDocument: withoutDeferred(context.document, variables),
    operationName: context.operationName ?? undefined,
  });
  const blockContext = {
    ...primaryContext,
    operation: typenameOnly(primaryContext.operation),
    fragments: {},
  };
  const run = async (node: PlanNode | undefined, operationContext: typeof primaryContext) => {
    const result = await executeQueryPlan(
      { kind: 'QueryPlan', node: shared.seeded(node) },
      shared.services,
      context,
      operationContext,
      supergraph.supergraphSchema,
      supergraph.apiSchema,
    );
    shared.settle();
    return result;
  };

  const initial = await run(plan.primary.node, primaryContext);
  if (!isRecord(initial.data)) return { initial };
  // What the client holds so far: where later blocks find their instances. A copy, because
  // Apollo Server serialises the first result after this function returns.
  const delivered = structuredClone(initial.data) as Data;
  const queue = payloadQueue();
  let pending = 0;

  /** The block's items, one per instance; without a selection (the block failed), data null. */
  const deliver = (
    block: DeferredNode,
    selectionSet: SelectionSetNode | undefined,
    errors: readonly GraphQLError[],
  ): IncrementalItem[] => {
    const items = instancesAt(delivered, shared.root, block.queryPath, apiSchema).map(
      ({ path, type }): IncrementalItem => {
        const raw = valueAt(shared.root, path);
        const shaped =
          selectionSet && isObjectType(type) && isRecord(raw)
            ? shapeDeferred(apiSchema, type, selectionSet, raw, path, variables)
            : { data: null, nulls: [] };
        if (shaped.data) mergeInto(valueAt(delivered, path) as Data, shaped.data);
        return {
          data: shaped.data,
          path,
          ...(block.label ? { label: block.label } : {}),
          // The gateway's own rule: value-completion errors only when no fetch failed.
          ...(errors.length === 0 && shaped.nulls.length > 0 ? { errors: shaped.nulls } : {}),
        };
      },
    );
    for (const error of errors) {
      const at = error.path ?? [];
      const item =
        items.find((candidate) => candidate.path.every((key, index) => at[index] === key)) ??
        items[0];
      if (item) item.errors = [...(item.errors ?? []), error];
    }
    return items;
  };

  const runBlock = async (block: DeferredNode): Promise<void> => {
    // A block with defers inside it plans as a Defer node of its own: its primary part is what
    // this block delivers, and its deferred blocks follow.
    const inner = isDefer(block.node) ? block.node : undefined;
    let items: IncrementalItem[];
    try {
      const result = await run(inner ? inner.primary.node : block.node, blockContext);
      const selectionSet = inner
        ? selectionOf(inner.primary, inner.primary.subselection, block.queryPath, inner.deferred)
        : selectionOf(block, block.subselection, block.queryPath, []);
      items = deliver(block, selectionSet, result.errors ?? []);
    } catch (error) {
      const failure =
        error instanceof GraphQLError
          ? error
          : new GraphQLError('Deferred fetch failed', {
              originalError: error instanceof Error ? error : undefined,
            });
      try {
        items = deliver(block, undefined, [failure]);
      } catch {
        items = [];
      }
    }
    // Nested blocks start only once this one's data is in place; they are counted before this
    // one is done, so `hasNext` turns false on the very last part.
    const nested = inner?.deferred ?? [];
    pending += nested.length - 1;
    if (items.length > 0 || pending === 0)
      queue.push({ ...(items.length > 0 ? { incremental: items } : {}), hasNext: pending > 0 });
    for (const next of nested) void runBlock(next);
  };

  pending = plan.deferred.length;
  if (pending === 0) return { initial };
  for (const block of plan.deferred) void runBlock(block);
  return { initial, subsequent: queue.stream };
}
