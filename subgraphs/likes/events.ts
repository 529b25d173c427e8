import { randomUUID } from 'node:crypto';
import type { Recounted } from '../../platform/counters.js';
import type { LikeEvent } from '../../platform/events.js';
import type { PubSub } from '../../platform/pubsub.js';

export function likesEvents(pubsub: PubSub) {
  return {
    likeChanged(type: LikeEvent['type'], postId: string, actorId: string, count: Recounted) {
      return pubsub.publish('likes', {
        eventId: randomUUID(),
        type,
        postId,
        actorId,
        likeCount: count.value,
        likeSeq: count.seq,
        occurredAt: new Date().toISOString(),
      });
    },
  };
}

export type LikesEvents = ReturnType<typeof likesEvents>;
