import { useMutation, useQuery, useSubscription } from '@apollo/client/react';
import { useEffect, useRef, useState } from 'react';
import type { NotificationFieldsFragment } from './gql/graphql';
import { MarkNotificationsRead, NotificationsChanged, NotificationsQuery } from './operations';

const PAGE = 20;

/**
 * The bell: the unread count, kept by one `notificationsChanged` subscription, which starts with
 * the current state (so a reconnect sets the count right at once); a click opens the list.
 */
export function NotificationBell() {
  const [unread, setUnread] = useState<number | null>(null);
  const [open, setOpen] = useState(false);
  useSubscription(NotificationsChanged, {
    onData: ({ data }) => {
      const change = data.data?.notificationsChanged;
      if (change) setUnread(change.unreadCount);
    },
  });
  const label = unread === null ? 'Notifications' : `Notifications, ${unread} unread`;
  return (
    <div className="bell">
      <button
        type="button"
        data-testid="bell"
        aria-label={label}
        aria-expanded={open}
        aria-controls="notifications"
        onClick={() => setOpen(!open)}
      >
        {/* Drawn, not an emoji: a system without an emoji font would show an empty box. */}
        <svg className="bell-icon" viewBox="0 0 24 24" width="16" height="16" aria-hidden="true">
          <path
            fill="currentColor"
            d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.84V3.5a1.5 1.5 0 0 0-3 0v.66A7 7 0 0 0 5 11v5l-2 2v1h18v-1Z"
          />
        </svg>{' '}
        <span data-testid="unread-count" className={unread ? 'badge' : 'badge none'}>
          {unread ?? ''}
        </span>
      </button>
      {open && <NotificationList onRead={setUnread} />}
    </div>
  );
}

/**
 * The viewer's notifications, newest first. Opening it marks what it shows read (up to the newest
 * it shows, so one that arrives meanwhile stays unread); the items keep their unread look until
 * the list is opened again.
 */
function NotificationList({ onRead }: { onRead: (unread: number) => void }) {
  const { data, error, fetchMore, loading } = useQuery(NotificationsQuery, {
    variables: { first: PAGE },
    fetchPolicy: 'network-only',
  });
  const [markRead] = useMutation(MarkNotificationsRead);
  const edges = data?.notifications.edges ?? [];
  const readWhenShown = useReadWhenShown(edges);
  const newest = edges[0]?.node.id;
  const unreadShown = (data?.notifications.unreadCount ?? 0) > 0;
  useEffect(() => {
    if (!newest || !unreadShown) return;
    void markRead({ variables: { upTo: newest } }).then(
      (result) => {
        if (result.data) onRead(result.data.markNotificationsRead);
      },
      () => undefined,
    );
  }, [newest, unreadShown, markRead, onRead]);
  const pageInfo = data?.notifications.pageInfo;
  return (
    <section id="notifications" className="notifications" aria-label="Notifications">
      {loading && <p className="state loading">Loading…</p>}
      {error && <p className="state error">{error.message}</p>}
      {data && edges.length === 0 && <p className="state empty">No notifications yet.</p>}
      <ul>
        {edges.map(({ node }) => (
          <li
            key={node.id}
            data-testid="notification"
            data-read={readWhenShown.get(node.id)}
            className={readWhenShown.get(node.id) ? 'read' : 'unread'}
          >
            <span data-testid="notification-text">{describe(node)}</span>{' '}
            <time dateTime={node.updatedAt}>{new Date(node.updatedAt).toLocaleString()}</time>
          </li>
        ))}
      </ul>
      {pageInfo?.hasNextPage && (
        <button
          type="button"
          onClick={() =>
            void fetchMore({ variables: { after: pageInfo.endCursor } }).catch(() => undefined)
          }
        >
          Show more
        </button>
      )}
    </section>
  );
}

/**
 * Each item's `read` as the list first showed it. The cache changes it under the open list: the
 * mark's own push (`notificationsChanged.latest`) is the same normalized notification, now read.
 */
function useReadWhenShown(edges: { node: NotificationFieldsFragment }[]): Map<string, boolean> {
  const shown = useRef(new Map<string, boolean>());
  for (const { node } of edges)
    if (!shown.current.has(node.id)) shown.current.set(node.id, node.read);
  return shown.current;
}

/** "bob and 3 others liked your post", "bob commented: …". */
function describe(notification: NotificationFieldsFragment): string {
  const actor = notification.actors[0];
  const others = notification.actorCount - 1;
  const name = actor ? (actor.username ?? actor.id) : 'Someone';
  const who = others > 0 ? `${name} and ${others} ${others === 1 ? 'other' : 'others'}` : name;
  switch (notification.kind) {
    case 'LIKE':
      return `${who} liked your post`;
    case 'COMMENT':
      return notification.comment
        ? `${name} commented: ${notification.comment.body}`
        : `${name} commented on your post`;
    case 'FOLLOW':
      return `${who} started following you`;
    case 'MENTION':
      return `${name} mentioned you`;
  }
}
