import { publishPostEvent } from '../../platform/durable-events.js';
import type { Logger } from '../../platform/logger.js';
import type { EventClients } from '../../platform/pubsub.js';
import type { PostsStore } from './store/posts.js';

/**
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

  return {
    /** Never fails the delete: the post is already hidden, and the repair pass announces it later. */
    async postDeleted(postId: string, actorId: string): Promise<void> {
      try {
        await announceDeleted(postId, actorId);
      } catch (error) {
        logger.warn(
          { err: error, postId },
          'post deletion not announced yet; the repair pass will',
        );
      }
    },

    async repair(olderThanMs: number): Promise<number> {
      const pending = await posts.deletedBefore(olderThanMs);
      for (const post of pending) await announceDeleted(post._id, post.authorId);
      return pending.length;
    },
  };
}

export type FeedEvents = ReturnType<typeof feedEvents>;
