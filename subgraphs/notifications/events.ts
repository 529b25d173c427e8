import { randomUUID } from 'node:crypto';
import type { PubSub } from '../../platform/pubsub.js';

/**
 * Tells the gateways that recipients' notifications changed, on the live engine: a lost event
 * only delays a badge until the next, and every push reads the current state.
 */
export function notificationsEvents(pubsub: PubSub) {
  return {
    async changed(recipientIds: readonly string[]): Promise<void> {
      const occurredAt = new Date().toISOString();
      await Promise.all(
        recipientIds.map((recipientId) =>
          pubsub.publish('notifications', {
            eventId: randomUUID(),
            type: 'notifications.changed',
            recipientId,
            occurredAt,
          }),
        ),
      );
    },
  };
}

export type NotificationsEvents = ReturnType<typeof notificationsEvents>;
