import type { Recounted } from '../../platform/counters.js';
import {
  publishFollowEvent,
  publishPostEvent,
  tryAnnounce,
} from '../../platform/durable-events.js';
import type { Logger } from '../../platform/logger.js';
import { mentionedUsernames } from '../../platform/mentions.js';
import type { EventClients } from '../../platform/pubsub.js';
import type { FollowDoc } from './store/follows.js';
import type { PostDoc, PostsStore } from './store/posts.js';

/**
 * A follow or unfollow goes on the durable topic for the followee's notifications once synced;
 * the edge stays unsynced until then, and the repair pass announces it again (the event id names
 * the edge's version, so JetStream drops a repeat).
 */
export function followAnnouncer(events: EventClients) {
  return (edge: FollowDoc, followerCount: Recounted): Promise<boolean> =>
    tryAnnounce(events, `follow of ${edge.followeeId}`, () =>
      publishFollowEvent(events, {
        eventId: `follow:${edge.followerId}:${edge.followeeId}:${edge.version}`,
        type: edge.active ? 'user.followed' : 'user.unfollowed',
        followeeId: edge.followeeId,
        actorId: edge.followerId,
        followerCount: followerCount.value,
        followerSeq: followerCount.seq,
        occurredAt: edge.updatedAt.toISOString(),
      }),
    );
}

/**
 * A new post is announced on the durable topic, where the timelines' fan-out consumes it; the post
 * stays marked `unannounced` until then, and the repair pass announces what a failure left. A
 * caption edit is announced the same way (`editUnannounced`), with the mentions of the new
 * caption, for the users it newly mentions.
 *
 * A deleted post is announced on the durable topic (likes and comments drop what they hold about
 * it) and only then purged. The event id is derived from the post, so announcing again after a
 * crash is deduplicated by JetStream.
 */
export function feedEvents(events: EventClients, posts: PostsStore, logger: Logger) {
  async function announceDeleted(postId: string, actorId: string) {
    await publishPostEvent(events, {
      eventId: `post.deleted:${postId}`,
      type: 'post.deleted',
      postId,
      actorId,
      occurredAt: new Date().toISOString(),
    });
    await posts.purge(postId);
  }

  async function announceCreated(post: PostDoc) {
    await publishPostEvent(events, {
      eventId: `post.created:${post._id}`,
      type: 'post.created',
      postId: post._id,
      actorId: post.authorId,
      mentions: mentionedUsernames(post.caption),
      occurredAt: post.createdAt.toISOString(),
    });
    await posts.announced(post._id);
  }

  async function announceEdited(post: PostDoc) {
    await publishPostEvent(events, {
      // One event per edit: a later edit is news, the same one again is a repeat.
      eventId: `post.edited:${post._id}:${post.updatedAt.getTime()}`,
      type: 'post.edited',
      postId: post._id,
      actorId: post.authorId,
      mentions: mentionedUsernames(post.caption),
      occurredAt: post.updatedAt.toISOString(),
    });
    await posts.editAnnounced(post._id, post.updatedAt);
  }

  /**
   * Announces, or leaves it to the repair pass: the write it tells of is already stored, so a
   * failure to publish must not fail the request.
   */
  async function orRepairLater(postId: string, what: string, announce: () => Promise<void>) {
    try {
      await announce();
    } catch (error) {
      logger.warn({ err: error, postId }, `${what} not announced yet; the repair pass will`);
    }
  }

  return {
    /** The post exists; the repair pass announces it if this fails. */
    postCreated: (post: PostDoc) =>
      orRepairLater(post._id, 'post creation', () => announceCreated(post)),

    /** The caption is saved; the repair pass announces it if this fails. */
    postEdited: (post: PostDoc) =>
      orRepairLater(post._id, 'caption edit', () => announceEdited(post)),

    /** The post is already hidden; the repair pass announces it if this fails. */
    postDeleted: (postId: string, actorId: string) =>
      orRepairLater(postId, 'post deletion', () => announceDeleted(postId, actorId)),

    /**
     * Each kind oldest first, and a post's creation before its edit before its deletion, so that
     * consumers see what is retold in the order it happened.
     */
    async repair(olderThanMs: number): Promise<number> {
      const created = await posts.unannouncedBefore(olderThanMs);
      for (const post of created) await announceCreated(post);
      const edited = await posts.editUnannouncedBefore(olderThanMs);
      for (const post of edited) await announceEdited(post);
      const deleted = await posts.deletedBefore(olderThanMs);
      for (const post of deleted) await announceDeleted(post._id, post.authorId);
      return created.length + edited.length + deleted.length;
    },
  };
}

export type FeedEvents = ReturnType<typeof feedEvents>;
