import type { Db } from 'mongodb';
import { deletedPostsStore } from './store/deleted-posts.js';
import { notificationsStore } from './store/notifications.js';

export function notificationsStores(db: Db, options: { actorsKept: number }) {
  const notifications = notificationsStore(db, options);
  const deletedPosts = deletedPostsStore(db);
  return {
    notifications,
    deletedPosts,
    /** Idempotent: run at every start-up. */
    ensureIndexes: async () => {
      await notifications.ensureIndexes();
      await deletedPosts.ensureIndexes();
    },
    /** Every write is one idempotent command: nothing is left half-done. */
    repair: async () => 0,
  };
}

export type NotificationsStores = ReturnType<typeof notificationsStores>;
