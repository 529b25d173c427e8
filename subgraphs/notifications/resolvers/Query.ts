import { requireViewer } from '../../../platform/auth.js';
import { readPage, toConnection, type PageArgs } from '../../../platform/connection.js';
import type { NotificationsContext } from '../context.js';
import { loadOwn } from './Notification.js';

export const Query = {
  notification: (_root: unknown, args: { id: string }, context: NotificationsContext) =>
    loadOwn(context, args.id),

  async notifications(_root: unknown, args: PageArgs, context: NotificationsContext) {
    const viewerId = requireViewer(context);
    const page = readPage('notifications', args);
    const { notifications } = context.stores;
    const [rows, unreadCount] = await Promise.all([
      notifications.page(viewerId, page),
      notifications.unreadCount(viewerId),
    ]);
    for (const row of rows) context.loaders.notifications.prime(row._id, row);
    return {
      ...toConnection('notifications', rows, page.limit, (row) => row.sortKey),
      unreadCount,
    };
  },
};
