import { badInput } from '../../../platform/errors.js';
import { isEntityId } from '../../../platform/ids.js';
import type { NotificationsContext } from '../context.js';
import type { NotificationDoc } from '../store/notifications.js';

/** The notification if the viewer is its recipient: nobody else may read it, or learn it exists. */
export async function loadOwn(
  context: NotificationsContext,
  id: string,
): Promise<NotificationDoc | null> {
  if (!context.viewer || !isEntityId(id)) return null;
  const notification = await context.loaders.notifications.load(id);
  return notification?.recipientId === context.viewer.id ? notification : null;
}

export const Notification = {
  __resolveReference: (reference: { id: string }, context: NotificationsContext) =>
    loadOwn(context, reference.id),
  id: (notification: NotificationDoc) => notification._id,
  post: (notification: NotificationDoc) =>
    notification.postId ? { __typename: 'Post', id: notification.postId } : null,
  comment: (notification: NotificationDoc) =>
    notification.commentId ? { __typename: 'Comment', id: notification.commentId } : null,
  actors(notification: NotificationDoc, args: { first?: number | null }) {
    const first = args.first ?? 3;
    if (!Number.isInteger(first) || first < 0 || first > 100)
      throw badInput('`first` must be from 0 to 100');
    return notification.actors.slice(0, first).map((id) => ({ __typename: 'User', id }));
  },
};
