import type { GraphQLDataSource, ServiceEndpointDefinition } from '@apollo/gateway';
import type { ApolloServer, HTTPGraphQLRequest, HTTPGraphQLResponse } from '@apollo/server';
import type { GatewayInterface } from '@apollo/server-gateway-interface';
import {
  DirectiveLocation,
  getVariableValues,
  GraphQLBoolean,
  GraphQLDirective,
  GraphQLNonNull,
  GraphQLSchema,
  GraphQLString,
  OperationTypeNode,
  type GraphQLFormattedError,
} from 'graphql';
import type { Logger } from '../../platform/logger.js';
import { checkResponseSize } from '../../platform/request-limits.js';
import type { GatewayContext } from '../context.js';
import { executeIncrementally, type SubsequentPayload } from './deferred-execution.js';
import { DeferredPlanner, isDefer } from './deferred-plans.js';
import { usesDefer } from './deferred-shape.js';
import { acceptsDeferredParts, DEFERRED_CONTENT_TYPE, multipartBody } from './multipart.js';

/** `@defer` as the incremental delivery RFC defines it; graphql-js 16 does not ship it. */
const DEFER = new GraphQLDirective({
  name: 'defer',
  description: 'Answer this fragment in a later part of a multipart response.',
  locations: [DirectiveLocation.FRAGMENT_SPREAD, DirectiveLocation.INLINE_FRAGMENT],
  args: {
    if: { type: new GraphQLNonNull(GraphQLBoolean), defaultValue: true },
    label: { type: GraphQLString },
  },
});

function withDefer(schema: GraphQLSchema): GraphQLSchema {
  if (schema.getDirective('defer')) return schema;
  const config = schema.toConfig();
  return new GraphQLSchema({ ...config, directives: [...config.directives, DEFER] });
}

/**
 * Where the executor leaves a request's later parts for the HTTP entry. Apollo Server hands the
 * executor a shallow copy of the context value, so the slot is an object both copies share; a
 * request that did not come through the HTTP entry (a WebSocket operation) has none, and gets
 * the whole result at once.
 */
const LATER_PARTS = Symbol('later parts');
interface LaterParts {
  parts?: AsyncIterableIterator<SubsequentPayload>;
}
interface Slotted {
  [LATER_PARTS]?: LaterParts;
}

export interface DeferredDeliveryOptions {
  /** The gateway's data source for a subgraph (the same kind its own plans use). */
  buildService: (definition: ServiceEndpointDefinition) => GraphQLDataSource;
  /** Apollo Server's `formatError`, applied to the errors of the later parts too. */
  formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  logger: Logger;
  /** `MAX_RESPONSE_BYTES`, which every part is held to. */
  maxResponseBytes: number;
}

/**
 * `@defer` on queries. `gateway()` wraps the gateway Apollo Server runs: its schema gains the
 * directive, and an operation that defers, from a client that accepts multipart parts, is run
 * here; every other operation goes to the wrapped gateway untouched, which drops `@defer` and
 * answers the whole result at once (as Apollo Router does for a client that does not take
 * multipart). Everything before execution (limits, authentication, rate limits, persisted
 * queries) has run by then, and the first part goes through Apollo Server's error masking and
 * plugins like any result. `http()` wraps the HTTP entry: when the operation left later parts,
 * the response becomes multipart, and their errors are masked with the same `formatError`.
 */
export function deferredDelivery(options: DeferredDeliveryOptions) {
  const planner = new DeferredPlanner(options.buildService);
  let apiSchema: GraphQLSchema | undefined;

  const formatted = async function* (
    parts: AsyncIterable<SubsequentPayload>,
    requestId: string,
  ): AsyncGenerator<{
    hasNext: boolean;
    incremental?: { path: readonly (string | number)[]; label?: string }[];
  }> {
    for await (const part of parts) {
      yield {
        ...part,
        incremental: part.incremental?.map((item) => ({
          ...item,
          errors: item.errors?.map((error) => {
            const masked = options.formatError(error.toJSON(), error);
            const code = masked.extensions?.code;
            if (code === 'SUBGRAPH_UNAVAILABLE')
              options.logger.warn(
                { err: error.originalError ?? error, requestId },
                'subgraph unavailable (deferred)',
              );
            else if (code === 'INTERNAL_SERVER_ERROR')
              options.logger.error(
                { err: error.originalError ?? error, path: error.path, requestId },
                'internal error (deferred)',
              );
            return masked;
          }),
        })),
      };
    }
  };

  return {
    gateway(inner: GatewayInterface): GatewayInterface {
      inner.onSchemaLoadOrUpdate(({ apiSchema: schema, coreSupergraphSdl }) => {
        apiSchema = schema;
        planner.update(coreSupergraphSdl);
      });
      return {
        onSchemaLoadOrUpdate: (callback) =>
          inner.onSchemaLoadOrUpdate((loaded) =>
            callback({ ...loaded, apiSchema: withDefer(loaded.apiSchema) }),
          ),
        async load(loadOptions) {
          const { executor } = await inner.load(loadOptions);
          if (!executor) return { executor };
          return {
            async executor(context) {
              // The one cost to operations that do not defer: a substring search.
              if (!context.source.includes('@defer')) return executor(context);
              const gatewayContext = context.context as Partial<GatewayContext> & Slotted;
              const slot = gatewayContext[LATER_PARTS];
              const incremental =
                slot !== undefined &&
                context.operation.operation === OperationTypeNode.QUERY &&
                !context.requestIsBatched &&
                (gatewayContext.errorBehavior ?? 'PROPAGATE') === 'PROPAGATE' &&
                acceptsDeferredParts(context.request.http?.headers.get('accept')) &&
                usesDefer(context.document) &&
                apiSchema !== undefined;
              if (!incremental || !slot || !apiSchema) return executor(context);
              const { errors } = getVariableValues(
                context.schema,
                context.operation.variableDefinitions ?? [],
                context.request.variables ?? {},
              );
              if (errors) return { errors };
              let planned: ReturnType<DeferredPlanner['plan']>;
              try {
                planned = planner.plan(context);
              } catch (error) {
                // A document the deferring planner cannot take still has an answer: all at once.
                options.logger.warn({ err: error }, 'deferred planning failed; answering at once');
                return executor(context);
              }
              const { supergraph, root } = planned;
              // `@defer(if: false)`, or nothing left to defer: one result.
              if (!isDefer(root)) return executor(context);
              const { initial, subsequent } = await executeIncrementally(
                context,
                root,
                supergraph,
                apiSchema,
              );
              slot.parts = subsequent;
              return initial;
            },
          };
        },
        stop: () => inner.stop(),
      };
    },

    http(apollo: ApolloServer<GatewayContext>) {
      return {
        async executeHTTPGraphQLRequest(request: {
          httpGraphQLRequest: HTTPGraphQLRequest;
          context: () => Promise<GatewayContext>;
        }): Promise<HTTPGraphQLResponse> {
          const slot: LaterParts = {};
          let requestId = '';
          const response = await apollo.executeHTTPGraphQLRequest({
            httpGraphQLRequest: request.httpGraphQLRequest,
            context: async () => {
              const value = await request.context();
              requestId = value.requestId;
              return Object.assign(value, { [LATER_PARTS]: slot });
            },
          });
          const { parts } = slot;
          if (!parts) return response;
          // Refused after execution (an `accept` without JSON, which Apollo Server answers 406):
          // the refusal stands, and the later parts are dropped.
          if (response.body.kind !== 'complete' || (response.status ?? 200) !== 200) {
            void parts.return?.();
            return response;
          }
          // An oversized first part: answered as one JSON body, which the HTTP entry replaces by
          // its error (the same check) like any oversized answer; nothing deferred follows it.
          if (checkResponseSize(response.body.string, options.maxResponseBytes)) {
            void parts.return?.();
            return response;
          }
          const first = JSON.stringify({
            ...(JSON.parse(response.body.string) as object),
            hasNext: true,
          });
          response.headers.set('content-type', DEFERRED_CONTENT_TYPE);
          return {
            ...response,
            body: {
              kind: 'chunked',
              asyncIterator: multipartBody(
                first,
                formatted(parts, requestId),
                options.maxResponseBytes,
                (bytes) =>
                  options.logger.warn({ requestId, bytes }, 'deferred part over the size limit'),
              ),
            },
          };
        },
      };
    },
  };
}
