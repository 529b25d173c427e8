/** Stops an upstream subscription. */
type Close = () => Promise<void>;

interface Entry<Event> {
  handlers: Set<(event: Event) => void>;
  opened: Promise<Close>;
}

/**
 * One upstream subscription per key in this process, whatever the number of handlers: opened by the
 * first `acquire` of its key, closed when the last handler leaves. Each event is handed to every
 * handler as the same object, which lets handlers share work per event.
 */
export class RefCounted<Event> {
  private readonly entries = new Map<string, Entry<Event>>();

  /** `onSize` hears the number of open upstream subscriptions whenever it changes. */
  constructor(private readonly onSize: (size: number) => void = () => undefined) {}

  get size(): number {
    return this.entries.size;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /**
   * Adds `handler` to the subscription of `key`, opening it with `open` if none is; resolves once
   * it is open, with the function that takes the handler out again.
   */
  async acquire(
    key: string,
    handler: (event: Event) => void,
    open: (dispatch: (event: Event) => void) => Promise<Close>,
  ): Promise<Close> {
    let entry = this.entries.get(key);
    if (!entry) {
      const handlers = new Set<(event: Event) => void>();
      const opened = open((event) => {
        for (const each of handlers) each(event);
      });
      entry = { handlers, opened };
      this.entries.set(key, entry);
      this.onSize(this.entries.size);
    }
    const current = entry;
    current.handlers.add(handler);
    const release = async () => {
      if (!current.handlers.delete(handler) || current.handlers.size > 0) return;
      if (this.entries.get(key) === current) {
        this.entries.delete(key);
        this.onSize(this.entries.size);
      }
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
