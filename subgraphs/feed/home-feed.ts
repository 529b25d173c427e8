import type { Page } from '../../platform/connection.js';
import type { PostEvent } from '../../platform/events.js';
import type { PostDoc } from './store/posts.js';
import type { TimelineEntry } from './store/timelines.js';
import type { FeedStores } from './stores.js';

export interface HomeFeedOptions {
  /** Authors with more followers than this are not fanned out on write: readers fetch their posts. */
  maxFanOutFollowers: number;
}

/** How many followers one fan-out command writes to. */
const FAN_OUT_BATCH = 1_000;

/** A page reads this many timeline entries per post it shows before it reads the rest. */
const WINDOW_FACTOR = 2;

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

  /** The entries a page may show: followed authors' posts, each once, older than `after`. */
  function candidatesOf(
    entries: TimelineEntry[],
    following: Set<string>,
    after: string | undefined,
  ): TimelineEntry[] {
    const seen = new Set<string>();
    return entries.filter((entry) => {
      if (seen.has(entry.postId) || !following.has(entry.authorId)) return false;
      seen.add(entry.postId);
      return after === undefined || entry.postId < after;
    });
  }

  return {
    /**
     * One page of the viewer's home feed: up to `page.limit + 1` posts, newest first, and whom the
     * viewer follows (read anyway, and what `viewerFollows` asks of every author on the page).
     */
    async page(
      viewerId: string,
      page: Page,
    ): Promise<{ posts: PostDoc[]; following: Set<string> }> {
      const wanted = page.limit + 1;
      // A window of the timeline, with room for entries a page skips (unfollowed, deleted,
      // repeated); the rest of it is read only when those leave the window short.
      const [window, followees] = await Promise.all([
        stores.timelines.window(viewerId, page.after, wanted * WINDOW_FACTOR),
        stores.follows.followeeIds(viewerId),
      ]);
      const following = new Set([viewerId, ...followees]);
      const readRest = async () =>
        candidatesOf(
          (await stores.timelines.window(viewerId, page.after, stores.timelines.length))?.entries ??
            [],
          following,
          undefined,
        );
      let candidates: TimelineEntry[];
      let total: number;
      let truncated = false;
      if (window?.complete) {
        candidates = candidatesOf(window.entries, following, undefined);
        total = window.total;
        truncated = window.remaining > window.entries.length;
        if (truncated && candidates.length < wanted) {
          candidates = await readRest();
          truncated = false;
        }
      } else {
        const entries = await rebuild(viewerId, followees);
        candidates = candidatesOf(entries, following, page.after);
        total = entries.length;
      }
      // Past the end of a full timeline, older posts come from fan-out on read.
      if (total >= stores.timelines.length && candidates.length < wanted) {
        return { posts: await stores.posts.byAuthors([...following], page), following };
      }
      const fetchedOnRead = followees.filter((id) => highFanOut.has(id));
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
      return { posts: posts.slice(0, wanted), following };
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
