import type { FieldNode } from 'graphql';
import type { Viewer } from '../../platform/auth.js';
import type { Operation } from './selection.js';

/** A subscription the request pipeline accepted: its root field, checked arguments, and who asks. */
export interface AcceptedSubscription {
  operation: Operation;
  /** The one root field of the subscription. */
  field: FieldNode;
  args: Record<string, unknown>;
  viewer: Viewer;
  /** The caller's `Authorization`, forwarded by follow-up queries that depend on the viewer. */
  authorization: string | undefined;
}

/**
 * Hands one serialized result (`{"data":…}` as JSON) to the transport. A payload is serialized once
 * per event and selection and shared by every subscriber asking the same; only the transport's
 * envelope differs.
 */
export type Deliver = (payload: string) => void;

/**
 * Where the events of one `Subscription` field come from. One module per field; adding a field is
 * a new module and one line in `root-event-sources.ts`.
 */
export interface RootEventSource {
  /** The `Subscription` field this source serves. */
  readonly field: string;
  /** The arguments as the source will use them; throws a coded GraphQLError when they are bad. */
  checkArguments(args: Record<string, unknown>): Record<string, unknown>;
  /** How many engine subscriptions starting with these arguments would open in this process. */
  engineSubscriptionsToOpen(args: Record<string, unknown>): number;
  /**
   * Starts delivering; resolves once the subscription is live, with the function that stops it.
   * Rejects when it cannot start.
   */
  start(subscription: AcceptedSubscription, deliver: Deliver): Promise<() => Promise<void>>;
}
