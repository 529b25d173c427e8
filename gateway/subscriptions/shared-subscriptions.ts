import type { Topics } from '../../platform/events.js';
import type { LiveTopic, PubSub } from '../../platform/pubsub.js';
import { RefCounted } from './ref-counted.js';

/**
 * One engine subscription per (topic, key: a post, or a viewer's notifications) in this process,
 * whatever the number of clients watching it: each event is decoded once and handed to every
 * handler as the same object (which lets handlers share work per event). Dropped when the last
 * handler leaves.
 */
export class SharedSubscriptions {
  private readonly subscriptions: RefCounted<Topics[LiveTopic]>;

  /** `onSize` hears the number of open engine subscriptions whenever it changes. */
  constructor(
    private readonly pubsub: PubSub,
    onSize?: (size: number) => void,
  ) {
    this.subscriptions = new RefCounted(onSize);
  }

  /** How many engine subscriptions are open. */
  get size(): number {
    return this.subscriptions.size;
  }

  /** Whether this process already holds the engine subscription of (topic, post). */
  has(topic: LiveTopic, postId: string): boolean {
    return this.subscriptions.has(`${topic}.${postId}`);
  }

  acquire<T extends LiveTopic>(
    topic: T,
    postId: string,
    handler: (event: Topics[T]) => void,
  ): Promise<() => Promise<void>> {
    return this.subscriptions.acquire(
      `${topic}.${postId}`,
      handler as (event: Topics[LiveTopic]) => void,
      (dispatch) => this.pubsub.subscribe(topic, postId, dispatch),
    );
  }
}
