import { randomUUID } from 'node:crypto';
import type { Recounted } from '../../platform/counters.js';
import { publishCommentActivity, tryAnnounce } from '../../platform/durable-events.js';
import type { CommentEvent } from '../../platform/events.js';
import { mentionedUsernames } from '../../platform/mentions.js';
import type { EventClients } from '../../platform/pubsub.js';
import type { CommentDoc } from './store/comments.js';

export function commentsEvents(events: EventClients) {
  return {
    /**
     * Live, for screens. `count` is the post's comment count with the ticket of the recount that
     * produced it; an edit changes no count and sends seq 0, which consumers never prefer to a
     * real recount.
     */
    commentChanged(
      type: CommentEvent['type'],
      comment: { _id: string; postId: string },
      actorId: string,
      count: { value: number; seq: number },
    ) {
      return events.pubsub.publish('comments', {
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

    /**
     * Durable, for notifications and for commentAdded's replay. An added or deleted comment stays
     * unsynced, an edited one `editUnannounced`, until this succeeds, and the repair pass
     * announces it again; the event id names the comment and the change, so JetStream drops a
     * repeat.
     */
    async announce(
      type: CommentEvent['type'],
      comment: CommentDoc,
      count: Recounted,
    ): Promise<boolean> {
      const version = type === 'comment.edited' ? comment.editedAt?.getTime() : comment.version;
      return tryAnnounce(events, `${type} ${comment._id}`, () =>
        publishCommentActivity(events, {
          eventId: `${type}:${comment._id}:${version}`,
          type,
          postId: comment.postId,
          postAuthorId: comment.postAuthorId,
          commentId: comment._id,
          // The author, except for a deletion by the post's author, which the store does not record.
          actorId: comment.authorId,
          commentCount: count.value,
          commentSeq: count.seq,
          mentions: mentionedUsernames(comment.body),
          occurredAt: comment.updatedAt.toISOString(),
        }),
      );
    },
  };
}

export type CommentsEvents = ReturnType<typeof commentsEvents>;
