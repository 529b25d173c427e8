import { followDurable } from '../../platform/durable-events.js';
import type { CommentActivity } from '../../platform/events.js';
import type { EventClients } from '../../platform/pubsub.js';
import { RefCounted } from './ref-counted.js';

/**
 * New comments of one post for `commentAdded`, from the durable topic rather than the live engine:
 * after an outage of NATS or of this subscription, the comments posted meanwhile are replayed from
 * the stream, in order and once each (platform/durable-events.ts `followDurable`). One ordered
 * consumer per watched post in this process, shared by its subscribers.
 */
export class CommentStreams {
  private readonly streams = new RefCounted<CommentActivity>();

  constructor(private readonly events: EventClients) {}

  get size(): number {
    return this.streams.size;
  }

  has(postId: string): boolean {
    return this.streams.has(postId);
  }

  acquire(postId: string, handler: (event: CommentActivity) => void): Promise<() => Promise<void>> {
    return this.streams.acquire(postId, handler, (dispatch) =>
      followDurable(this.events, 'post-comments', postId, (event) => {
        if (event.type === 'comment.created') dispatch(event);
      }),
    );
  }
}
