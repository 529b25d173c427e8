import type { GraphQLDataSource, ServiceEndpointDefinition } from '@apollo/gateway';
import { operationFromDocument, Supergraph, type Schema } from '@apollo/federation-internals';
import { QueryPlanner, type DeferNode, type PlanNode, type QueryPlan } from '@apollo/query-planner';
import type { GatewayGraphQLRequestContext } from '@apollo/server-gateway-interface';
import type { GraphQLSchema } from 'graphql';

/** What running a deferred plan needs of one supergraph, built once per supergraph. */
export interface DeferredSupergraph {
  /** The supergraph's API schema, as the planner and `executeQueryPlan` read it. */
  apiSchema: Schema;
  /** The whole supergraph, join directives included, as `executeQueryPlan` reads it. */
  supergraphSchema: GraphQLSchema;
  /** One data source per subgraph, named as in the plans. */
  services: Record<string, GraphQLDataSource>;
}

export interface DeferredPlan {
  supergraph: DeferredSupergraph;
  /** The plan's root once its `@defer(if: $var)` conditions are decided for this request. */
  root: PlanNode | undefined;
}

/** Plans kept per supergraph; a plan of this schema is a few kilobytes. */
const MAX_PLANS = 1_000;

/**
 * Plans operations that use `@defer`. `@apollo/gateway` plans with `@defer` turned off (it drops
 * the directive, and then answers the whole result at once), since its executor stops at a
 * `Defer` node; these plans keep the deferred blocks apart. The planner is built on the first
 * deferred operation after each supergraph change, so a gateway that never sees `@defer` never
 * pays for a second query graph.
 */
export class DeferredPlanner {
  private sdl: string | undefined;
  private built: { supergraph: DeferredSupergraph; planner: QueryPlanner } | undefined;
  /** Most recently used last. */
  private readonly plans = new Map<string, QueryPlan>();

  constructor(
    private readonly buildService: (definition: ServiceEndpointDefinition) => GraphQLDataSource,
  ) {}

  /** The supergraph in service changed: plans and planner of the previous one are dropped. */
  update(sdl: string): void {
    if (sdl === this.sdl) return;
    this.sdl = sdl;
    this.built = undefined;
    this.plans.clear();
  }

  plan(context: GatewayGraphQLRequestContext): DeferredPlan {
    const { supergraph, planner } = this.build();
    const key = `${context.queryHash}:${context.operationName ?? ''}`;
    let plan = this.plans.get(key);
    if (plan) {
      this.plans.delete(key);
    } else {
      const operation = operationFromDocument(supergraph.apiSchema, context.document, {
        operationName: context.operationName ?? undefined,
      });
      plan = planner.buildQueryPlan(operation);
      if (this.plans.size >= MAX_PLANS) this.plans.delete(this.plans.keys().next().value ?? '');
    }
    this.plans.set(key, plan);
    // Only queries come here: a subscription's plan never defers.
    const root = plan.node?.kind === 'Subscription' ? undefined : plan.node;
    return { supergraph, root: decideConditions(root, context) };
  }

  private build() {
    if (this.built) return this.built;
    if (this.sdl === undefined) throw new Error('No supergraph loaded yet');
    const supergraph = Supergraph.build(this.sdl);
    const services: Record<string, GraphQLDataSource> = Object.create(null);
    for (const { name, url } of supergraph.subgraphsMetadata())
      services[name] = this.buildService({ name, url });
    this.built = {
      supergraph: {
        apiSchema: supergraph.apiSchema(),
        supergraphSchema: supergraph.schema.toGraphQLJSSchema(),
        services,
      },
      planner: new QueryPlanner(supergraph, { incrementalDelivery: { enableDefer: true } }),
    };
    return this.built;
  }
}

/**
 * `@defer(if: $var)` plans as a condition above the deferring and the non-deferring plan; the
 * request's variables pick one before anything runs.
 */
function decideConditions(
  node: PlanNode | undefined,
  context: GatewayGraphQLRequestContext,
): PlanNode | undefined {
  if (node?.kind !== 'Condition') return node;
  // Variables were checked against their definitions before planning: a missing one has a default.
  const value = context.request.variables?.[node.condition];
  const declared = context.operation.variableDefinitions?.find(
    (definition) => definition.variable.name.value === node.condition,
  )?.defaultValue;
  const taken = value === undefined ? declared?.kind === 'BooleanValue' && declared.value : value;
  return decideConditions(taken ? node.ifClause : node.elseClause, context);
}

export const isDefer = (node: PlanNode | undefined): node is DeferNode => node?.kind === 'Defer';
