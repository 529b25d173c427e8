import {
  operationFromDocument,
  Supergraph,
  type Operation,
  type Schema,
} from '@apollo/federation-internals';
import type {
  ApolloGateway,
  Experimental_DidResolveQueryPlanCallback,
  ServiceMap,
} from '@apollo/gateway';
import type { PlanNode, QueryPlan, SubscriptionNode } from '@apollo/query-planner';
import type {
  GatewayExecutionResult,
  GatewayExecutor,
  GatewayGraphQLRequestContext,
  GatewayInterface,
} from '@apollo/server-gateway-interface';
import { trace } from '@opentelemetry/api';
import {
  getVariableValues,
  GraphQLError,
  type DocumentNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type VariableDefinitionNode,
} from 'graphql';
import type { Logger } from '../../platform/logger.js';
import type { Metrics } from '../../platform/metrics.js';
import { executePlan } from './plan-execution.js';
import { compileResultShape, type ResultShape } from './result-shape.js';

type OperationContext = Parameters<Experimental_DidResolveQueryPlanCallback>[0]['operationContext'];

/** Everything about one operation that does not change from one request to the next. */
export interface CompiledOperation {
  node: PlanNode | undefined;
  services: ServiceMap;
  operation: Operation;
  shape: ResultShape;
  /** The API schema and the operation's variable definitions, to check each request's values. */
  schema: GraphQLSchema;
  variableDefinitions: readonly VariableDefinitionNode[];
  supergraphSchema: GraphQLSchema;
  /** The request's document and operation as Apollo Server resolved them, for the checks per request. */
  document: DocumentNode;
  definition: OperationDefinitionNode;
}

/**
 * Operations whose plan came back from `@apollo/gateway` once, kept with what running them again
 * needs. Bounded by count, oldest first out: a plan is about 5 KB and its shape about as much, so
 * this many stay within about the 30 MiB `@apollo/gateway` gives its own plan store.
 */
const MAX_OPERATIONS = 2_000;

/** The request header `@apollo/gateway` answers with the plan in `extensions` (outside production). */
export const QUERY_PLAN_HEADER = 'apollo-query-plan-experimental';

const tracer = trace.getTracer('@apollo/gateway');

/**
 * A faster path for operations `@apollo/gateway` has already planned.
 *
 * Per request its executor rebuilds the operation from the document (`operationFromDocument`),
 * wraps each step in usage-reporting objects, and shapes the result by asking the schema about
 * every value: about a fifth of the gateway's CPU on the feed query. The first request of an
 * operation still runs there; its plan is handed over (`experimental_didResolveQueryPlan`) and
 * compiled with the result shaping resolved against the schema (`result-shape.ts`), and the next
 * requests run that (`plan-execution.ts`): same fetches, same merging, same errors.
 *
 * Plans this path does not cover stay with `@apollo/gateway`: `@defer`, data rewrites (interface
 * objects, `@fromContext`), schema introspection in the operation.
 */
export class CompiledOperations {
  private readonly compiled = new Map<string, CompiledOperation | null>();
  /** The supergraph's schemas; `served` is the one `@apollo/gateway` validates requests with. */
  private schemas?: { api: Schema; supergraph: GraphQLSchema; served: GraphQLSchema };

  constructor(
    private readonly logger: Logger,
    private readonly metrics: Metrics,
  ) {}

  /** For `ApolloGateway`'s `onSchemaLoadOrUpdate`: plans of another supergraph are dropped. */
  readonly schemaChanged = ({
    apiSchema,
    coreSupergraphSdl,
  }: {
    apiSchema: GraphQLSchema;
    coreSupergraphSdl: string;
  }) => {
    this.compiled.clear();
    const supergraph = Supergraph.build(coreSupergraphSdl);
    this.schemas = {
      api: supergraph.apiSchema(),
      supergraph: supergraph.schema.toGraphQLJSSchema(),
      served: apiSchema,
    };
  };

  /** For `ApolloGateway`'s `experimental_didResolveQueryPlan`. */
  readonly planResolved: Experimental_DidResolveQueryPlanCallback = ({
    queryPlan,
    serviceMap,
    operationContext,
    requestContext,
  }) => {
    const key = keyOf(requestContext);
    // A request that started before a supergraph update was planned against the previous one.
    if (this.compiled.has(key) || operationContext.schema !== this.schemas?.served) return;
    let entry: CompiledOperation | null = null;
    try {
      entry = compile(queryPlan, serviceMap, operationContext, requestContext, this.schemas);
    } catch (error) {
      this.logger.warn({ err: error }, 'operation left to @apollo/gateway: it did not compile');
    }
    if (this.compiled.size >= MAX_OPERATIONS) {
      const oldest = this.compiled.keys().next();
      if (!oldest.done) this.compiled.delete(oldest.value);
    }
    this.compiled.set(key, entry);
  };

  /** The strict gateway with this path in front of its executor. */
  gateway(apollo: ApolloGateway): GatewayInterface {
    return {
      onSchemaLoadOrUpdate: (callback) => apollo.onSchemaLoadOrUpdate(callback),
      load: async (options) => {
        const loaded = await apollo.load(options);
        const planned = loaded.executor as GatewayExecutor;
        return {
          schema: loaded.schema,
          executor: async (requestContext) => {
            const entry = this.entryFor(requestContext);
            this.metrics.planExecutions.inc({
              path: entry ? 'compiled' : 'apollo',
              pipeline: 'apollo-server',
            });
            if (!entry) return planned(requestContext);
            const errors = variableErrors(entry, requestContext.request.variables);
            return errors ? { errors } : execute(entry, requestContext);
          },
        };
      },
      stop: () => apollo.stop(),
    };
  }

  /**
   * The compiled operation of a document (by its SHA-256, as Apollo Server hashes it) and
   * operation name, if there is one; `compiledRequests` answers with it outside Apollo Server.
   */
  lookup(queryHash: string, operationName: string | undefined): CompiledOperation | undefined {
    return (
      this.compiled.get(operationName ? `${queryHash}\n${operationName}` : queryHash) ?? undefined
    );
  }

  private entryFor(requestContext: GatewayGraphQLRequestContext) {
    if (requestContext.request.http?.headers.get(QUERY_PLAN_HEADER)) return undefined;
    return this.compiled.get(keyOf(requestContext)) ?? undefined;
  }
}

function compile(
  plan: QueryPlan,
  services: ServiceMap,
  operationContext: OperationContext,
  requestContext: GatewayGraphQLRequestContext,
  schemas: { api: Schema; supergraph: GraphQLSchema },
): CompiledOperation | null {
  if (plan.node && !covered(plan.node)) return null;
  const operation = operationFromDocument(schemas.api, requestContext.document, {
    operationName: requestContext.request.operationName ?? undefined,
    validate: false,
  });
  const shape = compileResultShape(operation);
  if (!shape) return null;
  return {
    node: plan.node,
    services,
    operation,
    shape,
    schema: operationContext.schema,
    variableDefinitions: operationContext.operation.variableDefinitions ?? [],
    supergraphSchema: schemas.supergraph,
    document: requestContext.document,
    definition: operationContext.operation,
  };
}

/** `@apollo/gateway`'s plan store key. */
function keyOf(requestContext: GatewayGraphQLRequestContext): string {
  const name = requestContext.request.operationName;
  return name ? `${requestContext.queryHash}\n${name}` : requestContext.queryHash;
}

function covered(node: PlanNode | SubscriptionNode): node is PlanNode {
  switch (node.kind) {
    case 'Sequence':
    case 'Parallel':
      return node.nodes.every(covered);
    case 'Flatten':
      return covered(node.node);
    case 'Condition':
      return (
        (!node.ifClause || covered(node.ifClause)) && (!node.elseClause || covered(node.elseClause))
      );
    case 'Fetch':
      return (
        !node.inputRewrites?.length && !node.outputRewrites?.length && !node.contextRewrites?.length
      );
    default:
      return false;
  }
}

/** The errors of `variables` that do not fit the operation's definitions, as `@apollo/gateway` gives them. */
export function variableErrors(
  entry: CompiledOperation,
  variables: Record<string, unknown> | undefined,
): readonly GraphQLError[] | undefined {
  if (entry.variableDefinitions.length === 0) return undefined;
  return getVariableValues(entry.schema, entry.variableDefinitions, variables ?? {}).errors;
}

/**
 * What `@apollo/gateway`'s executor answers, from the compiled operation, for variables that
 * `variableErrors` found none in. `requestContext` needs only the request's variables and context.
 */
export function execute(
  entry: CompiledOperation,
  requestContext: Pick<GatewayGraphQLRequestContext, 'request' | 'context'>,
): Promise<GatewayExecutionResult> {
  return tracer.startActiveSpan('gateway.request', async (span) => {
    try {
      return await tracer.startActiveSpan('gateway.execute', async (executeSpan) => {
        try {
          return await run(entry, requestContext);
        } finally {
          executeSpan.end();
        }
      });
    } finally {
      span.end();
    }
  });
}

async function run(
  entry: CompiledOperation,
  requestContext: Pick<GatewayGraphQLRequestContext, 'request' | 'context'>,
): Promise<GatewayExecutionResult> {
  const errors: GraphQLError[] = [];
  const merged = Object.create(null) as Record<string, unknown>;
  if (entry.node) {
    await executePlan(
      {
        services: entry.services,
        requestContext,
        variableDefinitions: entry.operation.variableDefinitions,
        supergraphSchema: entry.supergraphSchema,
        errors,
      },
      entry.node,
      merged,
    );
  }
  return tracer.startActiveSpan('gateway.postprocessing', (span) => {
    try {
      const shaped = entry.shape(merged, requestContext.request.variables);
      if (errors.length === 0 && shaped.errors.length > 0) {
        return { extensions: { valueCompletion: shaped.errors }, data: shaped.data };
      }
      return errors.length === 0 ? { data: shaped.data } : { errors, data: shaped.data };
    } catch (error) {
      return {
        errors: [
          error instanceof GraphQLError
            ? error
            : new GraphQLError(error instanceof Error ? error.message : String(error), {
                originalError: error instanceof Error ? error : undefined,
              }),
        ],
      };
    } finally {
      span.end();
    }
  });
}
