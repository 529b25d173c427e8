import type {
  CommentActivity,
  FollowEvent,
  LikeActivity,
  PostEvent,
} from '../../platform/events.js';
import type { NotificationsEvents } from './events.js';
import type { DeletedPostsStore } from './store/deleted-posts.js';
import type {
  GroupActions,
  NotificationsStore,
  SingleNotification,
} from './store/notifications.js';

/** User ids of the usernames that exist (lower-cased names as keys). */
export type UsernameResolver = (usernames: readonly string[]) => Promise<Map<string, string>>;

/**
 * Domain events in, notifications out. Each handler takes a whole batch (the durable consumer
 * group-commits: platform/durable-events.ts), so a storm of likes on one post costs one write to
 * its notification per batch, and a caption mentioning 20 users one command for the 20. Every
 * handler is idempotent: a redelivered batch changes nothing (store/notifications.ts).
 */
export function notificationActivity(deps: {
  notifications: NotificationsStore;
  deletedPosts: DeletedPostsStore;
  events: NotificationsEvents;
  resolveUsernames: UsernameResolver;
}) {
  const { notifications, events } = deps;

  function grouped<E>(
    batch: readonly E[],
    group: (event: E) => Omit<GroupActions, 'actions'> | null,
    action: (event: E) => GroupActions['actions'][number],
  ): GroupActions[] {
    const groups = new Map<string, GroupActions>();
    for (const event of batch) {
      const target = group(event);
      if (!target) continue;
      const key = `${target.recipientId}\n${target.group}`;
      let entry = groups.get(key);
      if (!entry) groups.set(key, (entry = { ...target, actions: [] }));
      entry.actions.push(action(event));
    }
    return [...groups.values()];
  }

  /** Mentions of existing users other than the actor, one notification each. */
  async function mentions(
    sources: {
      usernames: readonly string[];
      actorId: string;
      postId: string;
      commentId: string | null;
    }[],
  ): Promise<SingleNotification[]> {
    const ids = await deps.resolveUsernames([...new Set(sources.flatMap((s) => s.usernames))]);
    return sources.flatMap((source) =>
      [...new Set(source.usernames.map((name) => ids.get(name.toLowerCase())))]
        .filter((id): id is string => id !== undefined && id !== source.actorId)
        .map((recipientId) => ({
          recipientId,
          group: `mention:${source.commentId ?? source.postId}`,
          kind: 'MENTION' as const,
          actorId: source.actorId,
          postId: source.postId,
          commentId: source.commentId,
        })),
    );
  }

  const changed = (recipients: string[][]) => events.changed([...new Set(recipients.flat())]);

  /**
   * Writes notifications, none about a post whose deletion was consumed before or while they
   * are written: a deletion records its post, then deletes the post's notifications
   * (`post.deleted` below), and these writes check the record before and after. Whichever order
   * the two consumers run in, a notification written after the deletion's sweep sees the record
   * afterwards and is swept here. Returns the recipients whose notifications changed.
   */
  async function aboutLivePosts<T extends { postId: string | null }>(
    items: T[],
    write: (items: T[]) => Promise<string[]>,
  ): Promise<string[]> {
    const postIds = [
      ...new Set(items.map((item) => item.postId).filter((id): id is string => id !== null)),
    ];
    if (postIds.length === 0) return write(items);
    const deletedBefore = await deps.deletedPosts.among(postIds);
    const recipients = await write(
      items.filter((item) => item.postId === null || !deletedBefore.has(item.postId)),
    );
    const deletedSince = await deps.deletedPosts.among(
      postIds.filter((id) => !deletedBefore.has(id)),
    );
    for (const postId of deletedSince) recipients.push(...(await notifications.forgetPost(postId)));
    return recipients;
  }

  return {
    async likes(batch: LikeActivity[]): Promise<void> {
      const groups = grouped(
        batch,
        (event) =>
          event.postAuthorId
            ? {
                recipientId: event.postAuthorId,
                group: `like:${event.postId}`,
                kind: 'LIKE',
                postId: event.postId,
              }
            : null,
        (event) => ({
          actorId: event.actorId,
          added: event.type === 'post.liked',
          count: event.likeCount,
          seq: event.likeSeq,
        }),
      );
      await changed([await aboutLivePosts(groups, notifications.applyGroups)]);
    },

    async follows(batch: FollowEvent[]): Promise<void> {
      const groups = grouped(
        batch,
        (event) => ({
          recipientId: event.followeeId,
          group: 'follow',
          kind: 'FOLLOW',
          postId: null,
        }),
        (event) => ({
          actorId: event.actorId,
          added: event.type === 'user.followed',
          count: event.followerCount,
          seq: event.followerSeq,
        }),
      );
      await changed([await notifications.applyGroups(groups)]);
    },

    async comments(batch: CommentActivity[]): Promise<void> {
      const created = batch.filter((event) => event.type === 'comment.created');
      const deleted = batch.filter((event) => event.type === 'comment.deleted');
      const gone = new Set(deleted.map((event) => event.commentId));
      const singles: SingleNotification[] = created
        .filter((event) => event.actorId !== event.postAuthorId && !gone.has(event.commentId))
        .map((event) => ({
          recipientId: event.postAuthorId,
          group: `comment:${event.commentId}`,
          kind: 'COMMENT',
          actorId: event.actorId,
          postId: event.postId,
          commentId: event.commentId,
        }));
      const mentioned = (events: CommentActivity[]) =>
        mentions(
          events.map((event) => ({
            usernames: event.mentions,
            actorId: event.actorId,
            postId: event.postId,
            commentId: event.commentId,
          })),
        );
      // An edit may add mentions; those already notified stay as they are.
      singles.push(
        ...(await mentioned(
          batch.filter((event) => event.type !== 'comment.deleted' && !gone.has(event.commentId)),
        )),
      );
      const removed = [
        ...deleted.map((event) => ({
          recipientId: event.postAuthorId,
          group: `comment:${event.commentId}`,
        })),
        ...(await mentioned(deleted)),
      ];
      await changed([
        await aboutLivePosts(singles, notifications.createSingles),
        await notifications.removeSingles(removed),
      ]);
    },

    /**
     * From the posts topic: mentions in a new or edited caption, and a deleted post's
     * notifications. An edit names the whole caption: those it mentioned before were notified
     * then, and their `mention:<postId>` is left as it is.
     */
    async post(event: PostEvent): Promise<void> {
      if (event.type === 'post.deleted') {
        await deps.deletedPosts.remember(event.postId);
        await changed([await notifications.forgetPost(event.postId)]);
        return;
      }
      const singles = await mentions([
        {
          usernames: event.mentions ?? [],
          actorId: event.actorId,
          postId: event.postId,
          commentId: null,
        },
      ]);
      await changed([await aboutLivePosts(singles, notifications.createSingles)]);
    },
  };
}

export type NotificationActivity = ReturnType<typeof notificationActivity>;
