import { randomUUID } from 'node:crypto';
import type { Recounted } from '../../platform/counters.js';
import { publishLikeActivity, tryAnnounce } from '../../platform/durable-events.js';
import type { LikeEvent } from '../../platform/events.js';
import type { EventClients } from '../../platform/pubsub.js';
import type { LikeDoc } from './store/likes.js';

export function likesEvents(events: EventClients) {
  return {
    /** Live, for screens: best effort, the next event carries absolute counts. */
    likeChanged(type: LikeEvent['type'], postId: string, actorId: string, count: Recounted) {
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
