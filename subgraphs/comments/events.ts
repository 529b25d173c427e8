import { randomUUID } from 'node:crypto';
import type { CommentEvent } from '../../platform/events.js';
import type { PubSub } from '../../platform/pubsub.js';

export function commentsEvents(pubsub: PubSub) {
  return {
    /**
     * `count` is the post's comment count with the ticket of the recount that produced it; an
     * edit changes no count and sends seq 0, which consumers never prefer to a real recount.
     */
    commentChanged(
      type: CommentEvent['type'],
      comment: { _id: string; postId: string },
      actorId: string,
      count: { value: number; seq: number },
    ) {
      return pubsub.publish('comments', {
        eventId: randomUUID(),
        type,
        postId: comment.postId,
        commentId: comment._id,
        actorId,
        commentCount: count.value,
        commentSeq: count.seq,
        occurredAt: new Date().toISOString(),
      });
    },
  };
}

export type CommentsEvents = ReturnType<typeof commentsEvents>;
