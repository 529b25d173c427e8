import type { CommentEvent, LikeEvent } from '../../platform/events.js';
import type { SharedSubscriptions } from './shared-subscriptions.js';

export interface Counts {
  likeCount: number;
  commentCount: number;
}

/**
 * One push of a post's counts. Every subscriber of the post receives the same object, so work
 * derived from a push (fetching `post { ... }` for a selection) is done once per push, not once
 * per subscriber.
 */
export interface CountsPush extends Counts {
  postId: string;
}

type Listener = (push: CountsPush) => void;

interface Entry extends Counts {
  postId: string;
  likeSeq: number;
  commentSeq: number;
  listeners: Set<Listener>;
  lastPush: CountsPush | undefined;
  lastPushAt: number;
  /** The beat that will push this post's pending change, if one is pending. */
  dueAt: number | undefined;
  /** Resolves once the engine subscriptions are open and the current counts are known. */
  ready: Promise<void>;
  release: () => Promise<void>;
}

/**
 * The live counts of the posts this gateway's clients watch. Counts come from events, each
 * absolute and ticketed (`likeSeq`, `commentSeq`), so an event that arrives late never
 * overwrites a newer one. Pushes are coalesced per post: the first change after a quiet spell
 * goes out at once; later ones wait for the next beat at least half an interval on, the beats
 * being every `minIntervalMs` on one clock for all posts, so a busy post is pushed once an
 * interval; a trailing push always carries the last counts. On the shared beat, every busy post a
 * listener watches is pushed to it in a row, which the streaming transports write to its
 * connection in one system call (`writeBatched`), not one per post.
 */
export class PostCountsHub {
  private readonly entries = new Map<string, Entry>();
  /** Posts with a change waiting, by their beat (a multiple of `minIntervalMs` on `now`). */
  private readonly beats = new Map<number, Set<Entry>>();

  constructor(
    private readonly shared: SharedSubscriptions,
    private readonly fetchCounts: (postIds: string[]) => Promise<Map<string, Counts>>,
    private readonly minIntervalMs: number,
    /**
     * Milliseconds on a clock that only goes forward: on the wall clock, a step back (a resumed
     * VM, a clock set by hand) would hold every busy post until the clock caught up again.
     */
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** How many of these posts nobody in this process watches yet. */
  unwatched(postIds: readonly string[]): number {
    return postIds.filter((postId) => !this.entries.has(postId)).length;
  }

  /**
   * Calls `listener` with the current counts of every post, then with each coalesced change,
   * until the returned function is called.
   */
  async watch(postIds: readonly string[], listener: Listener): Promise<() => Promise<void>> {
    const fresh: Entry[] = [];
    const entries = postIds.map((postId) => {
      let entry = this.entries.get(postId);
      if (!entry) {
        entry = this.open(postId);
        fresh.push(entry);
      }
      entry.listeners.add(listener);
      return entry;
    });
    const release = async () => {
      await Promise.all(entries.map((entry) => this.leave(entry, listener)));
    };
    try {
      if (fresh.length > 0) await this.start(fresh);
      await Promise.all(entries.map((entry) => entry.ready));
    } catch (error) {
      await release();
      throw error;
    }
    for (const entry of entries) listener(this.snapshot(entry));
    return release;
  }

  private open(postId: string): Entry {
    const entry: Entry = {
      postId,
      likeCount: 0,
      commentCount: 0,
      likeSeq: 0,
      commentSeq: 0,
      listeners: new Set(),
      lastPush: undefined,
      lastPushAt: -Infinity,
      dueAt: undefined,
      ready: Promise.resolve(),
      release: async () => undefined,
    };
    this.entries.set(postId, entry);
    return entry;
  }

  /** Subscribes first, then reads the counts, so no change can fall between the two. */
  private start(entries: Entry[]): Promise<void> {
    const started = (async () => {
      const releases = await Promise.all(
        entries.flatMap((entry) => [
          this.shared.acquire('likes', entry.postId, (event) => this.onLike(entry, event)),
          this.shared.acquire('comments', entry.postId, (event) => this.onComment(entry, event)),
        ]),
      );
      entries.forEach((entry, i) => {
        entry.release = async () => {
          await releases[2 * i]?.();
          await releases[2 * i + 1]?.();
        };
      });
      const counts = await this.fetchCounts(entries.map((entry) => entry.postId));
      for (const entry of entries) {
        const current = counts.get(entry.postId);
        // A count some event already set during the read is at least as new as the read.
        if (entry.likeSeq === 0) entry.likeCount = current?.likeCount ?? 0;
        if (entry.commentSeq === 0) entry.commentCount = current?.commentCount ?? 0;
      }
    })();
    for (const entry of entries) entry.ready = started;
    return started;
  }

  private async leave(entry: Entry, listener: Listener): Promise<void> {
    entry.listeners.delete(listener);
    if (entry.listeners.size > 0 || this.entries.get(entry.postId) !== entry) return;
    this.entries.delete(entry.postId);
    if (entry.dueAt !== undefined) this.beats.get(entry.dueAt)?.delete(entry);
    await entry.ready.catch(() => undefined);
    await entry.release();
  }

  private onLike(entry: Entry, event: LikeEvent): void {
    if (event.likeSeq <= entry.likeSeq) return;
    entry.likeSeq = event.likeSeq;
    entry.likeCount = event.likeCount;
    this.schedule(entry);
  }

  private onComment(entry: Entry, event: CommentEvent): void {
    if (event.commentSeq <= entry.commentSeq) return;
    entry.commentSeq = event.commentSeq;
    entry.commentCount = event.commentCount;
    this.schedule(entry);
  }

  private schedule(entry: Entry): void {
    const now = this.now();
    if (entry.dueAt !== undefined) {
      if (now <= entry.dueAt) return; // the beat will carry this change
      // The beat is overdue: a fan-out has held the event loop past it. The post goes now, so
      // that posts pushed as their events come cannot starve it.
      this.beats.get(entry.dueAt)?.delete(entry);
      return this.push(entry, now);
    }
    const interval = this.minIntervalMs;
    if (now - entry.lastPushAt >= interval) return this.push(entry, now);
    const at = Math.ceil((entry.lastPushAt + interval / 2) / interval) * interval;
    entry.dueAt = at;
    let due = this.beats.get(at);
    if (!due) {
      due = new Set();
      this.beats.set(at, due);
      setTimeout(() => this.beat(at), at - now);
    }
    due.add(entry);
  }

  /** Pushes every post due at `at`, each listener's in a row (see `writeBatched`). */
  private beat(at: number): void {
    const due = this.beats.get(at);
    this.beats.delete(at);
    const byListener = new Map<Listener, CountsPush[]>();
    for (const entry of due ?? []) {
      const push = this.take(entry, at);
      for (const listener of entry.listeners) {
        const pushes = byListener.get(listener);
        if (pushes) pushes.push(push);
        else byListener.set(listener, [push]);
      }
    }
    for (const [listener, pushes] of byListener) for (const push of pushes) listener(push);
  }

  private push(entry: Entry, at: number): void {
    const push = this.take(entry, at);
    for (const listener of entry.listeners) listener(push);
  }

  /** The push of `entry` made at `at`: nothing is pending for it any more. */
  private take(entry: Entry, at: number): CountsPush {
    entry.dueAt = undefined;
    entry.lastPushAt = at;
    return this.snapshot(entry);
  }

  /** The current counts, as the last push object when nothing changed since. */
  private snapshot(entry: Entry): CountsPush {
    const last = entry.lastPush;
    if (last && last.likeCount === entry.likeCount && last.commentCount === entry.commentCount) {
      return last;
    }
    entry.lastPush = {
      postId: entry.postId,
      likeCount: entry.likeCount,
      commentCount: entry.commentCount,
    };
    return entry.lastPush;
  }
}
