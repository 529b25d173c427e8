/**
 * Group commit for small writes that many requests make at once (a storm's "synced" marks): the
 * first item is written at once; items arriving while that write is in flight wait and go
 * together in the next one, a single command for all of them. Each caller's promise settles with
 * the write that carried its item, so a caller still knows when its own item is stored.
 */
export function groupCommit<T>(write: (items: T[]) => Promise<void>) {
  let waiting: { items: T[]; done: Promise<void> } | null = null;
  let inFlight: Promise<void> | null = null;

  const flush = (items: T[]): Promise<void> => {
    const written = write(items);
    inFlight = written.then(
      () => undefined,
      () => undefined,
    );
    const settled = inFlight;
    void settled.then(() => {
      if (inFlight === settled) inFlight = null;
    });
    return written;
  };

  return (item: T): Promise<void> => {
    if (waiting) {
      waiting.items.push(item);
      return waiting.done;
    }
    if (!inFlight) return flush([item]);
    const batch: { items: T[]; done: Promise<void> } = { items: [item], done: Promise.resolve() };
    batch.done = inFlight.then(() => {
      waiting = null;
      return flush(batch.items);
    });
    waiting = batch;
    return batch.done;
  };
}
