import type { Db } from 'mongodb';
import { notificationsStore } from './store/notifications.js';

export function notificationsStores(db: Db, options: { actorsKept: number }) {
  const notifications = notificationsStore(db, options);
  return {
    notifications,
    /** Idempotent: run at every start-up. */
    ensureIndexes: () => notifications.ensureIndexes(),
    /** Every write is one idempotent command: nothing is left half-done. */
    repair: async () => 0,
  };
}

export type NotificationsStores = ReturnType<typeof notificationsStores>;
