import {
  HeaderMap,
  type ApolloServerPlugin,
  type GraphQLRequestContextDidResolveOperation,
  type GraphQLResponse,
} from '@apollo/server';
import {
  getArgumentValues,
  getVariableValues,
  GraphQLError,
  type OperationDefinitionNode,
} from 'graphql';
import { badInput, unauthenticated } from '../../platform/errors.js';
import type { GatewayContext } from '../context.js';
import type { LiveSubscriptions } from '../subscriptions/live-subscriptions.js';
import type { AcceptedSubscription } from '../subscriptions/root-event-source.js';
import { collectFields, fragmentsOf } from '../subscriptions/selection.js';

/** Where subscriptions are served: named by the refusal of a transport that cannot stream. */
const SUBSCRIPTION_TRANSPORTS =
  'Subscriptions are served over the WebSocket at this URL (protocol graphql-transport-ws) or over ' +
  'HTTP with "accept: multipart/mixed;subscriptionSpec=\\"1.0\\", application/json"';

export interface SubscriptionOperationOptions {
  live: LiveSubscriptions;
  /** The most engine subscriptions this process holds; a subscription needing more is refused. */
  maxEngineSubscriptions: number;
}

const STATUS_BY_CODE: Record<string, number> = { UNAUTHENTICATED: 401, RATE_LIMITED: 429 };
const statusOf = (error: GraphQLError) => STATUS_BY_CODE[String(error.extensions.code)] ?? 400;

/**
 * A refusal before execution is the client's: Apollo Server answers an error thrown there with
 * 500 unless it names its status.
 */
function asRequestError(error: unknown): GraphQLError {
  if (!(error instanceof GraphQLError) || error.extensions.http) throw error;
  return new GraphQLError(error.message, {
    extensions: { ...error.extensions, http: { status: statusOf(error) } },
  });
}

/**
 * Subscription operations in the request pipeline, whatever their transport. After parsing,
 * validation, limits and rate limits, a subscription is checked (transport, sign-in, variables,
 * arguments, capacity) and handed to the transport that carries it; anything refused is an
 * ordinary GraphQL error of that request.
 */
export function subscriptionOperations(
  options: SubscriptionOperationOptions,
): ApolloServerPlugin<GatewayContext> {
  function accept(
    {
      contextValue,
      document,
      request,
      schema,
    }: GraphQLRequestContextDidResolveOperation<GatewayContext>,
    operation: OperationDefinitionNode,
  ): AcceptedSubscription {
    if (!contextValue.subscriptionTransport) {
      throw new GraphQLError(SUBSCRIPTION_TRANSPORTS, {
        extensions: { code: 'BAD_REQUEST', http: { status: 406 } },
      });
    }
    if (!contextValue.viewer) throw unauthenticated();
    const coerced = getVariableValues(
      schema,
      operation.variableDefinitions ?? [],
      request.variables ?? {},
    );
    if (coerced.errors) throw badInput(coerced.errors.map((error) => error.message).join('; '));
    const subscription = {
      document,
      operation,
      fragments: fragmentsOf(document),
      variables: coerced.coerced,
    };
    const [field] = collectFields(subscription, operation.selectionSet, 'Subscription');
    const source = field && options.live.source(field.name.value);
    const definition = field && schema.getSubscriptionType()?.getFields()[field.name.value];
    if (!field || !source || !definition) throw badInput('Unknown subscription');
    const args = source.checkArguments(
      getArgumentValues(definition, field, subscription.variables),
    );
    const needed = source.engineSubscriptionsToOpen(args);
    if (options.live.engineSubscriptions() + needed > options.maxEngineSubscriptions) {
      throw new GraphQLError(
        'This gateway is watching as many posts as it can; retry in a minute',
        {
          extensions: {
            code: 'RATE_LIMITED',
            retryAfter: 60,
            http: { status: 429, headers: new HeaderMap([['retry-after', '60']]) },
          },
        },
      );
    }
    return {
      operation: subscription,
      field,
      args,
      viewer: contextValue.viewer,
      authorization: contextValue.authorization,
    };
  }

  return {
    async requestDidStart({ contextValue }) {
      let accepted: AcceptedSubscription | undefined;
      return {
        async didResolveOperation(requestContext) {
          const { operation } = requestContext;
          if (operation?.operation !== 'subscription') return;
          try {
            accepted = accept(requestContext, operation);
          } catch (error) {
            throw asRequestError(error);
          }
        },
        async responseForOperation(): Promise<GraphQLResponse | null> {
          if (!accepted) return null;
          const refused = contextValue.subscriptionTransport?.open(accepted);
          return {
            http: { status: refused ? statusOf(refused) : undefined, headers: new HeaderMap() },
            body: {
              kind: 'single',
              singleResult: refused ? { errors: [refused.toJSON()] } : { data: null },
            },
          };
        },
      };
    },
  };
}
