import type { Viewer } from '../platform/auth.js';
import type { ErrorBehavior } from './error-behavior.js';
import type { SubscriptionTransport } from './subscriptions/subscription-transport.js';

export interface GatewayContext {
  viewer: Viewer | null;
  requestId: string;
  /** The client's address, for per-IP budgets; absent for the gateway's own follow-up queries. */
  ip?: string;
  /** Forwarded as it came, once verified, so each subgraph can verify it again. */
  authorization: string | undefined;
  /** The request's `onError` when it sent one; `PROPAGATE` otherwise. */
  errorBehavior?: ErrorBehavior;
  /**
   * `onError` as a transport without an HTTP body received it (a graphql-ws `subscribe`
   * payload), unchecked: the `errorBehavior` plugin checks it as it checks an HTTP body's.
   */
  requestedOnError?: unknown;
  /** Set by a transport that can stream (WebSocket, multipart HTTP): subscriptions need one. */
  subscriptionTransport?: SubscriptionTransport;
}
