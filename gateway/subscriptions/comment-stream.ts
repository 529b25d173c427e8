import { followDurable } from '../../platform/durable-events.js';
import type { CommentActivity } from '../../platform/events.js';
import type { EventClients } from '../../platform/pubsub.js';

/**
 * New comments of one post for `commentAdded`, from the durable topic rather than the live engine:
 * after an outage of NATS or of this subscription, the comments posted meanwhile are replayed from
 * the stream, in order and once each (platform/durable-events.ts `followDurable`). One ordered
 * consumer per watched post in this process, shared by its subscribers.
 */
export class CommentStreams {
  private readonly entries = new Map<
    string,
    { handlers: Set<(event: CommentActivity) => void>; opened: Promise<() => Promise<void>> }
  >();

  constructor(private readonly events: EventClients) {}

  get size(): number {
    return this.entries.size;
  }

  has(postId: string): boolean {
    return this.entries.has(postId);
  }

  async acquire(
    postId: string,
    handler: (event: CommentActivity) => void,
  ): Promise<() => Promise<void>> {
    let entry = this.entries.get(postId);
    if (!entry) {
      const handlers = new Set<(event: CommentActivity) => void>();
      const opened = followDurable(this.events, 'post-comments', postId, (event) => {
        if (event.type !== 'comment.created') return;
        for (const each of handlers) each(event);
      });
      entry = { handlers, opened };
      this.entries.set(postId, entry);
    }
    const current = entry;
    current.handlers.add(handler);
    const release = async () => {
      if (!current.handlers.delete(handler) || current.handlers.size > 0) return;
      if (this.entries.get(postId) === current) this.entries.delete(postId);
      const close = await current.opened.catch(() => undefined);
      await close?.();
    };
    try {
      await current.opened;
    } catch (error) {
      await release();
      throw error;
    }
    return release;
  }
}
