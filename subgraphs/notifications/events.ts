import { randomUUID } from 'node:crypto';
import type { PubSub } from '../../platform/pubsub.js';
import type { NotificationsStore } from './store/notifications.js';

/**
 * Tells the gateways that recipients' notifications changed, with the state a badge shows (the
 * unread count and the newest notification), on the live engine: a lost event only delays a
 * badge until the next, which carries the whole state again.
 */
export function notificationsEvents(pubsub: PubSub, notifications: NotificationsStore) {
  return {
    async changed(recipientIds: readonly string[]): Promise<void> {
      await Promise.all(
        recipientIds.map(async (recipientId) => {
          const [unreadCount, [latest]] = await Promise.all([
            notifications.unreadCount(recipientId),
            notifications.page(recipientId, { limit: 1, after: undefined }),
          ]);
          await pubsub.publish('notifications', {
            eventId: randomUUID(),
            type: 'notifications.changed',
            recipientId,
            unreadCount,
            latestId: latest?._id ?? null,
            occurredAt: new Date().toISOString(),
          });
        }),
      );
    },
  };
}

export type NotificationsEvents = ReturnType<typeof notificationsEvents>;
