import { randomUUID } from 'node:crypto';
import { parse, type FieldNode } from 'graphql';
import type { GatewayContext } from '../context.js';
import { rootPayload, type FollowUps } from './follow-ups.js';
import { latestOnly, watchNotifications, type NotificationsPush } from './notifications.js';
import type { RootEventSource } from './root-event-source.js';
import type { SharedSubscriptions } from './shared-subscriptions.js';
import { collectFields, resolveFields } from './selection.js';

const BADGE_QUERY = parse(
  'query NotificationsBadge { notifications(first: 1) { unreadCount edges { node { id } } } }',
);

/**
 * `Subscription.notificationsChanged`: the viewer's unread count and newest notification, pushed
 * to that viewer alone. The badge comes from the notifications subgraph's own subject for the
 * viewer; `latest`'s fields are fetched as the viewer, never shared with anyone else.
 */
export function notificationsChanged(
  shared: SharedSubscriptions,
  followUps: FollowUps,
  minIntervalMs: number,
): RootEventSource {
  return {
    field: 'notificationsChanged',
    checkArguments: (args) => args,
    // At most one: the viewer's subject may already be open for another of their subscriptions.
    engineSubscriptionsToOpen: () => 1,
    start(subscription, deliver) {
      const { field, operation, viewer } = subscription;
      const rootKey = (field.alias ?? field.name).value;
      const fields = collectFields(
        operation,
        field.selectionSet as NonNullable<FieldNode['selectionSet']>,
        'NotificationsChange',
      );
      const latest = fields.find((each) => each.name.value === 'latest');
      const followUp = latest?.selectionSet
        ? followUps.prepare(
            subscription,
            latest.selectionSet,
            {
              rootField: 'notification',
              responseKey: 'latest',
              argument: 'id',
              variable: 'subscriptionNotificationId',
              list: false,
            },
            true,
          )
        : undefined;
      const viewerContext = (): GatewayContext => ({
        viewer,
        requestId: randomUUID(),
        authorization: subscription.authorization,
      });
      const push = latestOnly(async (state: NotificationsPush) => {
        const fetched =
          followUp && state.latestId ? await followUp.fetch(state, state.latestId) : undefined;
        const data = resolveFields(fields, (name) => {
          switch (name) {
            case '__typename':
              return 'NotificationsChange';
            case 'unreadCount':
              return state.unreadCount;
            default:
              return fetched?.data?.latest ?? null;
          }
        });
        deliver(rootPayload(rootKey, data, fetched?.errors, 1));
      });
      return watchNotifications({
        subscribe: (handler) => shared.acquire('notifications', viewer.id, handler),
        minIntervalMs,
        async current() {
          const result = await followUps.run(BADGE_QUERY, {}, viewerContext());
          const badge = result.data?.notifications as
            { unreadCount: number; edges: { node: { id: string } }[] } | undefined;
          if (!badge) throw new Error(`badge unavailable: ${result.errors?.[0]?.message}`);
          return { unreadCount: badge.unreadCount, latestId: badge.edges[0]?.node.id ?? null };
        },
        push,
      });
    },
  };
}
