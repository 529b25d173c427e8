import DataLoader from 'dataloader';
import { inIdOrder } from '../../platform/grouped-pages.js';
import { measuredBatch, type Metrics } from '../../platform/metrics.js';
import type { NotificationDoc } from './store/notifications.js';
import type { NotificationsStores } from './stores.js';

/** Per request: each batches every load of one tick into one database command. */
export function notificationsLoaders(stores: NotificationsStores, metrics: Metrics) {
  return {
    notifications: new DataLoader<string, NotificationDoc | null>(
      measuredBatch(metrics, 'notifications', async (ids) =>
        inIdOrder(ids, await stores.notifications.byIds(ids)),
      ),
    ),
  };
}

export type NotificationsLoaders = ReturnType<typeof notificationsLoaders>;
