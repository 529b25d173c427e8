import type { GraphQLError } from 'graphql';
import type { AcceptedSubscription } from './root-event-source.js';

/**
 * A transport that can carry a subscription's events (the WebSocket, multipart HTTP). It puts
 * itself in the request's context; once the request pipeline has accepted a subscription, it
 * hands it over here.
 */
export interface SubscriptionTransport {
  /**
   * Takes the subscription over and starts delivering, or refuses it (a per-connection cap) with
   * a coded error for the client.
   */
  open(subscription: AcceptedSubscription): GraphQLError | undefined;
}
