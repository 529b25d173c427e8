import type { Topics } from '../../platform/events.js';
import type { LiveTopic, PubSub } from '../../platform/pubsub.js';

type Handler = (event: never) => void;

interface Entry {
  handlers: Set<Handler>;
  subscribed: Promise<() => Promise<void>>;
}

/**
 * One engine subscription per (topic, key: a post, or a viewer's notifications) in this process,
 * whatever the number of clients watching it: each event is decoded once and handed to every handler as the same object
 * (which lets handlers share work per event). Dropped when the last handler leaves.
 */
export class SharedSubscriptions {
  private readonly entries = new Map<string, Entry>();

  /** `onSize` hears the number of open engine subscriptions whenever it changes. */
  constructor(
    private readonly pubsub: PubSub,
    private readonly onSize: (size: number) => void = () => undefined,
  ) {}

  /** How many engine subscriptions are open. */
  get size(): number {
    return this.entries.size;
  }

  /** Whether this process already holds the engine subscription of (topic, post). */
  has(topic: LiveTopic, postId: string): boolean {
    return this.entries.has(`${topic}.${postId}`);
  }

  async acquire<T extends LiveTopic>(
    topic: T,
    postId: string,
    handler: (event: Topics[T]) => void,
  ): Promise<() => Promise<void>> {
    const key = `${topic}.${postId}`;
    let entry = this.entries.get(key);
    if (!entry) {
      const handlers = new Set<Handler>();
      const subscribed = this.pubsub.subscribe(topic, postId, (event) => {
        for (const each of handlers) (each as (event: Topics[T]) => void)(event);
      });
      entry = { handlers, subscribed };
      this.entries.set(key, entry);
      this.onSize(this.entries.size);
    }
    const current = entry;
    current.handlers.add(handler as Handler);
    const release = async () => {
      if (!current.handlers.delete(handler as Handler) || current.handlers.size > 0) return;
      if (this.entries.get(key) === current) {
        this.entries.delete(key);
        this.onSize(this.entries.size);
      }
      const unsubscribe = await current.subscribed.catch(() => undefined);
      await unsubscribe?.();
    };
    try {
      await current.subscribed;
    } catch (error) {
      await release();
      throw error;
    }
    return release;
  }
}
