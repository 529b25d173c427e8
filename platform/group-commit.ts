/**
 * Group commit for small writes (or lookups) that many requests make at once (a storm's "synced"
 * marks, its likers' names): the first item goes out at once; items arriving while that call is
 * in flight wait and go together in the next one, a single command for all of them. Each caller's
 * promise settles with the call that carried its item, and with its result, so a caller still
 * knows when its own item is stored, or what was found for it.
 */
export function groupCommit<T, R = void>(write: (items: T[]) => Promise<R>) {
  let waiting: { items: T[]; done: Promise<R> } | null = null;
  let inFlight: Promise<void> | null = null;

  const flush = (items: T[]): Promise<R> => {
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

  return (item: T): Promise<R> => {
    if (waiting) {
      waiting.items.push(item);
      return waiting.done;
    }
    if (!inFlight) return flush([item]);
    const items = [item];
    const done = inFlight.then(() => {
      waiting = null;
      return flush(items);
    });
    waiting = { items, done };
    return done;
  };
}
