import { consumeDurableBatches } from '../../platform/durable-events.js';
import {
  startSubgraphService,
  type RunningService,
  type SubgraphServiceDeps,
} from '../../platform/subgraph.js';
import { notificationActivity, type UsernameResolver } from './activity.js';
import type { NotificationsConfig } from './config.js';
import { notificationsContext } from './context.js';
import { notificationsEvents } from './events.js';
import { resolvers } from './resolvers/index.js';
import { notificationsStores } from './stores.js';

export interface NotificationsDeps extends SubgraphServiceDeps {
  config: NotificationsConfig;
  /** Who `@username` is: the feed subgraph owns profiles. */
  resolveUsernames: UsernameResolver;
}

/**
 * The notifications subgraph and its durable consumers: likes, comments and follows in
 * group-committed batches, post events (caption mentions, edits, deletions) one by one.
 */
export async function startNotifications(deps: NotificationsDeps): Promise<RunningService> {
  const stores = notificationsStores(deps.db, deps.config);
  const events = notificationsEvents(deps.events.pubsub, stores.notifications);
  const activity = notificationActivity({
    notifications: stores.notifications,
    deletedPosts: stores.deletedPosts,
    events,
    resolveUsernames: deps.resolveUsernames,
  });
  const service = await startSubgraphService({
    ...deps,
    name: 'notifications',
    stores,
    resolvers,
    context: notificationsContext(stores, events),
    postEvents: (event) => activity.post(event),
  });
  const batches = { minIntervalMs: deps.config.batchIntervalMs };
  const stops = [
    await consumeDurableBatches(
      deps.events,
      'post-likes',
      'notifications-likes',
      (batch) => activity.likes(batch),
      batches,
    ),
    await consumeDurableBatches(
      deps.events,
      'post-comments',
      'notifications-comments',
      (batch) => activity.comments(batch),
      batches,
    ),
    await consumeDurableBatches(
      deps.events,
      'follows',
      'notifications-follows',
      (batch) => activity.follows(batch),
      batches,
    ),
  ];
  return {
    ...service,
    async stop() {
      for (const stop of stops) await stop();
      await service.stop();
    },
  };
}
