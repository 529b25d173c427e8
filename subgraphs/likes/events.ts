import { randomUUID } from 'node:crypto';
import type { Recounted } from '../../platform/counters.js';
import { publishLikeActivity, tryAnnounce } from '../../platform/durable-events.js';
import type { LikeEvent } from '../../platform/events.js';
import type { EventClients } from '../../platform/pubsub.js';
import type { LikeDoc } from './store/likes.js';

/** Posts whose last live event this process remembers; the oldest is forgotten first. */
const REMEMBERED_POSTS = 10_000;

export function likesEvents(events: EventClients) {
  /** The newest recount ticket each post's live event carried from this process. */
  const published = new Map<string, number>();
  return {
    /**
     * Live, for screens: best effort, the next event carries absolute counts. The likes that
     * shared a recount (a storm's group commit: dozens per recount) share its event: the first to
     * get here publishes it, and the rest, carrying the same count and ticket, publish nothing.
     * Each would have gone to every gateway, to be dropped there as no newer.
     */
    likeChanged(type: LikeEvent['type'], postId: string, actorId: string, count: Recounted) {
      const last = published.get(postId);
      if (last !== undefined && last >= count.seq) return Promise.resolve();
      published.delete(postId);
      published.set(postId, count.seq);
      if (published.size > REMEMBERED_POSTS)
        published.delete(published.keys().next().value as string);
      return events.pubsub.publish('likes', {
        eventId: randomUUID(),
        type,
        postId,
        actorId,
        likeCount: count.value,
        likeSeq: count.seq,
        occurredAt: new Date().toISOString(),
      });
    },

    /**
     * Durable, for notifications: the like row stays unsynced until this succeeds, and the repair
     * pass announces it again; the event id names the row's version, so JetStream drops a repeat.
     * It names the row by its `_id`: a synced unlike deletes the row, and a like again makes a new
     * one at version 1, which is news, not a repeat of the first like.
     */
    async announce(like: LikeDoc, count: Recounted): Promise<boolean> {
      const postAuthorId = like.postAuthorId;
      // A row from before notifications existed has nobody to tell.
      if (!postAuthorId) return true;
      return tryAnnounce(events, `like of ${like.postId}`, () =>
        publishLikeActivity(events, {
          eventId: `like:${like._id}:${like.version}`,
          type: like.active ? 'post.liked' : 'post.unliked',
          postId: like.postId,
          postAuthorId,
          actorId: like.userId,
          likeCount: count.value,
          likeSeq: count.seq,
          occurredAt: like.updatedAt.toISOString(),
        }),
      );
    },
  };
}

export type LikesEvents = ReturnType<typeof likesEvents>;
