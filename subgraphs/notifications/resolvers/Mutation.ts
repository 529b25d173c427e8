import { requireViewer } from '../../../platform/auth.js';
import { notFound } from '../../../platform/errors.js';
import type { NotificationsContext } from '../context.js';
import { loadOwn } from './Notification.js';

export const Mutation = {
  async markNotificationsRead(
    _root: unknown,
    args: { upTo?: string | null },
    context: NotificationsContext,
  ) {
    const viewerId = requireViewer(context);
    const upTo = args.upTo ? await loadOwn(context, args.upTo) : null;
    if (args.upTo && !upTo) throw notFound(`No notification with id "${args.upTo}"`);
    const { notifications } = context.stores;
    await notifications.markRead(viewerId, upTo);
    await context.events.changed([viewerId]);
    return notifications.unreadCount(viewerId);
  },
};
