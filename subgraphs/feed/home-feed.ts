import type { Page } from '../../platform/connection.js';
import type { PostEvent } from '../../platform/events.js';
import type { PostDoc } from './store/posts.js';
import type { TimelineEntry } from './store/timelines.js';
import type { FeedStores } from './stores.js';

export interface HomeFeedOptions {
  /** Authors with more followers than this are not fanned out on write: readers fetch their posts. */
  maxFanOutFollowers: number;
  /**
   * A follow list this long or shorter is read whole with each page; a longer one is asked only
   * about the authors the page may show.
   */
  followsReadInFull: number;
}

/** How many followers one fan-out command writes to. */
const FAN_OUT_BATCH = 1_000;

/** A page reads this many timeline entries per post it shows before it reads the rest. */
const WINDOW_FACTOR = 2;

/**
 * A page asks about each high-fan-out author by name only while there are at most this many;
 * past that, reading the reader's whole follow list is the smaller read.
 */
const MAX_PROBED_HIGH_FAN_OUT = 1_000;

/** Whom a page's reader follows, as far as the page has asked (see `followsOf`). */
interface PageFollows {
  /** Whether the reader follows `authorId` (the reader counts as followed): only for authors learnt. */
  has(authorId: string): boolean;
  /** Makes `has` answer for every author in `groups`, in one read of those not known yet. */
  learn(...groups: Iterable<string>[]): Promise<void>;
  /** Everyone the reader follows, read whole at most once. */
  all(): Promise<string[]>;
  /** The followed authors whose posts are read on demand. */
  highFanOut(): Promise<string[]>;
  /** Every author known to be followed, the reader included. */
  followed(): Set<string>;
}

/**
 * The home feed, hybrid fan-out. A new post is written into every follower's timeline by a durable
 * consumer (fan-out on write), except for authors with very many followers, whose posts readers
 * fetch when they read (fan-out on read). A page is then the reader's timeline merged with the
 * posts of the high-fan-out authors they follow: a constant number of commands, however many
 * accounts the reader follows.
 *
 * Which authors are high-fan-out is a list every feed process keeps in memory, refreshed from the
 * database; writer and reader consult the same list, so a post is either fanned out or fetched on
 * read. Processes may disagree for one refresh interval after an author crosses the threshold.
 *
 * A page also needs to know whom its reader follows: an entry of an author since unfollowed is
 * skipped, and the followed high-fan-out authors are read. A short follow list is read whole
 * beside the window; a long one is asked only about the window's authors and the high-fan-out
 * ones, so that a page costs the same whether its reader follows 50 accounts or 5,000.
 */
export function homeFeed(stores: FeedStores, options: HomeFeedOptions) {
  let highFanOut = new Set<string>();

  /** The newest posts of `authors`, as many as a timeline holds, as timeline entries. */
  const history = async (authors: string[]): Promise<TimelineEntry[]> => {
    const posts = await stores.posts.recentIdsByAuthors(authors, stores.timelines.length);
    return posts.map((post) => ({ postId: post._id, authorId: post.authorId }));
  };

  /** The timeline from history: the newest posts of everyone followed who is fanned out to. */
  async function rebuild(viewerId: string, followees: string[]): Promise<TimelineEntry[]> {
    await stores.timelines.beginRebuild(viewerId);
    const entries = await history([viewerId, ...followees.filter((id) => !highFanOut.has(id))]);
    await stores.timelines.finishRebuild(viewerId, entries);
    return entries;
  }

  /** Up to `wanted` live posts from `entries`, in order: a deleted post's entry is skipped. */
  async function livePosts(entries: TimelineEntry[], wanted: number): Promise<PostDoc[]> {
    const found: PostDoc[] = [];
    for (let start = 0; start < entries.length && found.length < wanted;) {
      const chunk = entries.slice(start, start + (wanted - found.length));
      start += chunk.length;
      const byId = new Map(
        (await stores.posts.byIds(chunk.map((e) => e.postId))).map((p) => [p._id, p]),
      );
      for (const entry of chunk) {
        const post = byId.get(entry.postId);
        if (post) found.push(post);
      }
    }
    return found;
  }

  /**
   * What a page knows of whom `viewerId` follows. It starts from the first
   * `followsReadInFull + 1` edges, read beside the window: all of them for most readers. A
   * reader who follows more is asked about authors as the page meets them, unless there are
   * more high-fan-out authors to ask about than `MAX_PROBED_HIGH_FAN_OUT`: then the list is
   * read whole at once.
   */
  async function followsOf(viewerId: string): Promise<PageFollows> {
    const limit =
      highFanOut.size > MAX_PROBED_HIGH_FAN_OUT ? undefined : options.followsReadInFull + 1;
    const read = await stores.follows.followeeIds(viewerId, limit);
    let everyone = limit === undefined || read.length < limit ? read : null;
    const known = new Map<string, boolean>([[viewerId, true]]);
    for (const id of read) known.set(id, true);
    const learn = async (...groups: Iterable<string>[]) => {
      if (everyone) return;
      const unknown = new Set<string>();
      for (const group of groups) for (const id of group) if (!known.has(id)) unknown.add(id);
      if (unknown.size === 0) return;
      const followed = await stores.follows.followedAmong(viewerId, [...unknown]);
      for (const id of unknown) known.set(id, followed.has(id));
    };
    const has = (authorId: string) => known.get(authorId) === true;
    const all = async () => {
      if (!everyone) {
        everyone = await stores.follows.followeeIds(viewerId);
        for (const id of everyone) known.set(id, true);
      }
      return everyone;
    };
    return {
      has,
      learn,
      all,
      async highFanOut() {
        if (everyone) return everyone.filter((id) => highFanOut.has(id));
        await learn(highFanOut);
        return [...highFanOut].filter(has);
      },
      followed: () => new Set([...known].filter(([, follows]) => follows).map(([id]) => id)),
    };
  }

  /** The entries a page may show: followed authors' posts, each once, older than `after`. */
  function candidatesOf(
    entries: TimelineEntry[],
    follows: PageFollows,
    after: string | undefined,
  ): TimelineEntry[] {
    const seen = new Set<string>();
    return entries.filter((entry) => {
      if (seen.has(entry.postId) || !follows.has(entry.authorId)) return false;
      seen.add(entry.postId);
      return after === undefined || entry.postId < after;
    });
  }

  return {
    /**
     * One page of the viewer's home feed: up to `page.limit + 1` posts, newest first, and whom the
     * viewer follows among at least the page's authors (what `viewerFollows` asks of each).
     */
    async page(
      viewerId: string,
      page: Page,
    ): Promise<{ posts: PostDoc[]; following: Set<string> }> {
      const wanted = page.limit + 1;
      // A window of the timeline, with room for entries a page skips (unfollowed, deleted,
      // repeated); the rest of it is read only when those leave the window short.
      const [window, follows] = await Promise.all([
        stores.timelines.window(viewerId, page.after, wanted * WINDOW_FACTOR),
        followsOf(viewerId),
      ]);
      const readRest = async () => {
        const rest = await stores.timelines.window(viewerId, page.after, stores.timelines.length);
        const entries = rest?.entries ?? [];
        await follows.learn(entries.map((entry) => entry.authorId));
        return candidatesOf(entries, follows, undefined);
      };
      let candidates: TimelineEntry[];
      let total: number;
      let truncated = false;
      if (window?.complete) {
        // One read asks about the window's authors and the high-fan-out ones alike.
        await follows.learn(
          window.entries.map((entry) => entry.authorId),
          highFanOut,
        );
        candidates = candidatesOf(window.entries, follows, undefined);
        total = window.total;
        truncated = window.remaining > window.entries.length;
        if (truncated && candidates.length < wanted) {
          candidates = await readRest();
          truncated = false;
        }
      } else {
        const entries = await rebuild(viewerId, await follows.all());
        candidates = candidatesOf(entries, follows, page.after);
        total = entries.length;
      }
      // Past the end of a full timeline, older posts come from fan-out on read.
      if (total >= stores.timelines.length && candidates.length < wanted) {
        const authors = [viewerId, ...(await follows.all())];
        return {
          posts: await stores.posts.byAuthors(authors, page),
          following: follows.followed(),
        };
      }
      const fetchedOnRead = await follows.highFanOut();
      const [inWindow, pulled] = await Promise.all([
        livePosts(candidates, wanted),
        fetchedOnRead.length > 0 ? stores.posts.byAuthors(fetchedOnRead, page) : [],
      ]);
      const fannedOut =
        truncated && inWindow.length < wanted
          ? await livePosts(await readRest(), wanted)
          : inWindow;
      const merged = new Map([...fannedOut, ...pulled].map((post) => [post._id, post]));
      const posts = [...merged.values()].sort((a, b) => (a._id < b._id ? 1 : -1));
      return { posts: posts.slice(0, wanted), following: follows.followed() };
    },

    /**
     * The durable consumer's work for a new post: into the author's own timeline, and into every
     * follower's unless the author is high-fan-out. Idempotent: a redelivered event adds entries
     * that readers drop as duplicates.
     */
    async fanOut(event: PostEvent): Promise<void> {
      if (event.type !== 'post.created') return;
      const entry = { postId: event.postId, authorId: event.actorId };
      await stores.timelines.add([event.actorId], entry);
      if (highFanOut.has(event.actorId)) return;
      for await (const followers of stores.followers.followerIds(event.actorId, FAN_OUT_BATCH)) {
        await stores.timelines.add(followers, entry);
      }
    },

    /** Someone just followed: their recent posts join the timeline now, not at the next rebuild. */
    async followed(viewerId: string, followeeId: string): Promise<void> {
      if (highFanOut.has(followeeId)) return;
      await stores.timelines.merge(viewerId, await history([followeeId]));
    },

    /** Re-reads the high-fan-out authors; runs at start-up and on a timer. */
    async refresh(): Promise<void> {
      highFanOut = new Set(await stores.users.withFollowersAbove(options.maxFanOutFollowers));
    },

    /** A recount this process just made: the list follows it without waiting for the refresh. */
    noteFollowers(userId: string, followerCount: number): void {
      if (followerCount > options.maxFanOutFollowers) highFanOut.add(userId);
      else highFanOut.delete(userId);
    },
  };
}

export type HomeFeed = ReturnType<typeof homeFeed>;
