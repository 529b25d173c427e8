import type { NotificationsEvent } from '../../platform/events.js';

/** What `notificationsChanged` pushes, before `latest`'s fields are fetched. */
export interface NotificationsPush {
  unreadCount: number;
  latestId: string | null;
}

/**
 * The viewer's notification badge: the current state at once, then every change the
 * notifications subgraph announces for that viewer alone (their own subject), coalesced like the
 * counts: the first change after a quiet spell goes out at once, later ones at most every
 * `minIntervalMs`, and a trailing push always carries the last state. Events carry the whole
 * state, so dropping the ones in between loses nothing.
 */
export async function watchNotifications(options: {
  /** Hears the viewer's badge events until the returned function is called. */
  subscribe: (handler: (event: NotificationsEvent) => void) => Promise<() => Promise<void>>;
  current: () => Promise<NotificationsPush>;
  minIntervalMs: number;
  push: (state: NotificationsPush) => void;
}): Promise<() => Promise<void>> {
  let lastPushAt = -Infinity;
  let timer: NodeJS.Timeout | undefined;
  let pending: NotificationsPush | undefined;
  // Every change pushes, even with the same count and newest id: that one gained actors.
  const send = (state: NotificationsPush) => {
    lastPushAt = performance.now();
    options.push(state);
  };
  const flush = () => {
    timer = undefined;
    if (pending) send(pending);
    pending = undefined;
  };
  const unsubscribe = await options.subscribe((event) => {
    pending = { unreadCount: event.unreadCount, latestId: event.latestId };
    // A clock that only goes forward: after a step back of the wall clock, the next push would
    // have waited for it to catch up.
    const wait = lastPushAt + options.minIntervalMs - performance.now();
    if (wait <= 0 && !timer) flush();
    else timer ??= setTimeout(flush, Math.max(wait, 0));
  });
  // Subscribed first, so a change between the read and the subscription is not missed.
  if (!pending) send(await options.current());
  return async () => {
    clearTimeout(timer);
    await unsubscribe();
  };
}

/**
 * Runs `run` for the newest value only: a value that arrives while a run is in progress waits,
 * and is replaced by any newer one. A slow follow-up fetch then delays the next push, instead of
 * queueing one fetch per push behind it and falling further behind the state.
 */
export function latestOnly<T>(run: (value: T) => Promise<void>): (value: T) => void {
  let waiting: { value: T } | undefined;
  let running = false;
  const drain = async () => {
    running = true;
    while (waiting) {
      const { value } = waiting;
      waiting = undefined;
      // A failed run must not stop later ones; runs report their own failures.
      await run(value).catch(() => undefined);
    }
    running = false;
  };
  return (value) => {
    waiting = { value };
    if (!running) void drain();
  };
}
