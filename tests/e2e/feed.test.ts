import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { shardOfUser } from '../../platform/ids.js';
import { ok, startStack, type TestStack } from '../helpers/stack.js';
import { until } from '../helpers/ws.js';
import { assertError, assertOrdered, createPost, inBatches, sleep, uid } from './support.js';

let stack: TestStack;

/**
 * Small timelines and a low fan-out threshold, so every test here also runs past the end of a
 * timeline and across authors fanned out on read.
 */
const TIMELINE_LENGTH = 30;
const MAX_FAN_OUT_FOLLOWERS = 3;

const timelines = () => stack.mongo.db(`${stack.dbPrefix}_feed`).collection('timelines');
const timelineKey = (owner: string) => ({ shard: shardOfUser(owner), _id: owner as never });

/** The post ids in `owner`'s stored timeline, or null when there is none. */
async function storedTimeline(owner: string): Promise<string[] | null> {
  const doc = await timelines().findOne(timelineKey(owner));
  return doc ? (doc.entries as { postId: string }[]).map((entry) => entry.postId) : null;
}

const FEED = `query Feed($first: Int, $after: String) {
  feed(first: $first, after: $after) {
    edges { cursor node { id createdAt author { id } } }
    pageInfo { hasNextPage endCursor }
  }
}`;

const FOLLOW = `mutation Follow($u: ID!) {
  followUser(userId: $u) { id followerCount followingCount viewerFollows }
}`;
const UNFOLLOW = `mutation Unfollow($u: ID!) {
  unfollowUser(userId: $u) { id followerCount followingCount viewerFollows }
}`;
const USER = `query User($id: ID!) { user(id: $id) { id followerCount followingCount viewerFollows } }`;

interface FeedPage {
  ids: string[];
  authors: string[];
  hasNextPage: boolean;
  endCursor: string | null;
}

async function feedPage(as: string, first?: number, after?: string | null): Promise<FeedPage> {
  const data: any = ok(await stack.gql(FEED, { first, after }, { as }));
  const connection = data.feed;
  if (connection.edges.length > 0)
    assert.equal(connection.pageInfo.endCursor, connection.edges.at(-1).cursor);
  else assert.equal(connection.pageInfo.endCursor, null);
  return {
    ids: connection.edges.map((edge: any) => edge.node.id),
    authors: connection.edges.map((edge: any) => edge.node.author.id),
    hasNextPage: connection.pageInfo.hasNextPage,
    endCursor: connection.pageInfo.endCursor,
  };
}

async function wholeFeed(as: string, first = 100): Promise<FeedPage[]> {
  const pages: FeedPage[] = [];
  let cursor: string | null = null;
  for (let guard = 0; guard < 200; guard++) {
    const page = await feedPage(as, first, cursor);
    pages.push(page);
    if (!page.hasNextPage) return pages;
    cursor = page.endCursor;
  }
  throw new Error('the feed never ended');
}

async function user(id: string, as?: string) {
  return (ok(await stack.gql(USER, { id }, as ? { as } : {})) as any).user;
}

/**
 * Every test runs in both ways a page learns whom its reader follows: the whole follow list read
 * with each page, and (as for a reader who follows more than `followsReadInFull` accounts) only
 * the authors the page meets asked about.
 */
for (const [mode, followsReadInFull] of [
  ['follow lists read whole', 100],
  ['follow lists asked per page', 0],
] as const) {
  describe(mode, () => {
    before(async () => {
      stack = await startStack({
        timelines: {
          length: TIMELINE_LENGTH,
          maxFanOutFollowers: MAX_FAN_OUT_FOLLOWERS,
          followsReadInFull,
        },
      });
    });

    after(async () => {
      await stack?.stop();
    });

    describe('feed', () => {
      test('needs a token', async () => {
        assertError(await stack.gql(FEED, {}), 'UNAUTHENTICATED');
      });

      test('a new user with nothing has an empty feed', async () => {
        assert.deepEqual(await feedPage(uid('empty')), {
          ids: [],
          authors: [],
          hasNextPage: false,
          endCursor: null,
        });
      });

      test("is the viewer's own posts and followed users' posts, newest first, and nobody else's", async () => {
        const [viewer, friend, stranger] = [uid('viewer'), uid('friend'), uid('stranger')];
        const expected: string[] = [];
        const strangers: string[] = [];
        // Interleaved authors, so the order has to come from time, not author.
        for (let i = 0; i < 4; i++) {
          expected.push((await createPost(stack, friend, { caption: `friend ${i}` })).id);
          strangers.push((await createPost(stack, stranger, { caption: `stranger ${i}` })).id);
          expected.push((await createPost(stack, viewer, { caption: `viewer ${i}` })).id);
        }
        ok(await stack.gql(FOLLOW, { u: friend }, { as: viewer }));

        const pages = await wholeFeed(viewer);
        assert.equal(pages.length, 1);
        const page = pages[0] as FeedPage;
        assert.deepEqual(page.ids, [...expected].reverse());
        assert.ok(page.authors.every((author) => author === viewer || author === friend));
        for (const id of strangers)
          assert.ok(!page.ids.includes(id), 'a post of someone not followed is in the feed');

        const data: any = ok(await stack.gql(FEED, { first: 100 }, { as: viewer }));
        const times = data.feed.edges.map((edge: any) => Date.parse(edge.node.createdAt));
        for (let i = 1; i < times.length; i++)
          assert.ok(times[i - 1] >= times[i], 'createdAt not newest first');

        // The friend's feed does not include the viewer's posts: following is one-way.
        const friendFeed = (await wholeFeed(friend)).flatMap((p) => p.authors);
        assert.ok(friendFeed.every((author) => author === friend));

        // After unfollowing, the friend's posts leave the feed.
        ok(await stack.gql(UNFOLLOW, { u: friend }, { as: viewer }));
        const afterUnfollow = (await wholeFeed(viewer)).flatMap((p) => p.authors);
        assert.equal(afterUnfollow.length, 4);
        assert.ok(afterUnfollow.every((author) => author === viewer));
      });

      test("a followed user's new post appears at the top and a deleted one disappears", async () => {
        const [viewer, friend] = [uid('viewer'), uid('friend')];
        await createPost(stack, viewer);
        await createPost(stack, friend);
        ok(await stack.gql(FOLLOW, { u: friend }, { as: viewer }));
        const fresh = await createPost(stack, friend, { caption: 'fresh' });
        const page = await feedPage(viewer);
        assert.equal(page.ids[0], fresh.id);
        assert.equal(page.ids.length, 3);
        ok(
          await stack.gql(
            `mutation($id: ID!) { deletePost(id: $id) }`,
            { id: fresh.id },
            { as: friend },
          ),
        );
        const again = await feedPage(viewer);
        assert.equal(again.ids.length, 2);
        assert.ok(!again.ids.includes(fresh.id));
      });

      test('a feed that follows many users still merges them newest first', async () => {
        const viewer = uid('viewer');
        const friends = Array.from({ length: 12 }, () => uid('friend'));
        const created: string[] = [];
        for (const friend of friends) created.push((await createPost(stack, friend)).id);
        for (const friend of friends) ok(await stack.gql(FOLLOW, { u: friend }, { as: viewer }));
        const me = (ok(await stack.gql(`{ viewer { followingCount } }`, {}, { as: viewer })) as any)
          .viewer;
        assert.equal(me.followingCount, 12);
        const ids = (await wholeFeed(viewer, 5)).flatMap((page) => page.ids);
        assert.deepEqual(ids, [...created].reverse());
      });
    });

    describe('timelines (hybrid fan-out)', () => {
      test("a followed user's new post is fanned out into the reader's timeline", async () => {
        const [viewer, friend] = [uid('viewer'), uid('friend')];
        await createPost(stack, friend);
        ok(await stack.gql(FOLLOW, { u: friend }, { as: viewer }));
        assert.equal((await feedPage(viewer)).ids.length, 1); // builds the timeline
        const fresh = await createPost(stack, friend, { caption: 'fresh' });
        // Fan-out on write reaches followers a moment after the post.
        await until(
          'the fan-out',
          async () => (await storedTimeline(viewer))?.includes(fresh.id) === true,
        );
        assert.equal((await feedPage(viewer)).ids[0], fresh.id);
      });

      test("the author sees a new post at once; a reader's own timeline is written before the answer", async () => {
        const author = uid('author');
        await createPost(stack, author);
        await feedPage(author);
        const fresh = await createPost(stack, author);
        assert.equal((await feedPage(author)).ids[0], fresh.id);
      });

      test("a popular author's posts are read on demand and merge in order with fanned-out ones", async () => {
        const star = uid('star');
        const [fan, ...others] = Array.from({ length: MAX_FAN_OUT_FOLLOWERS + 1 }, () =>
          uid('fan'),
        );
        const friend = uid('friend');
        await createPost(stack, star);
        await createPost(stack, friend);
        for (const follower of [fan as string, ...others])
          ok(await stack.gql(FOLLOW, { u: star }, { as: follower }));
        ok(await stack.gql(FOLLOW, { u: friend }, { as: fan as string }));
        await feedPage(fan as string);
        const expected: string[] = [];
        for (let i = 0; i < 3; i++) {
          expected.unshift((await createPost(stack, star, { caption: `star ${i}` })).id);
          expected.unshift((await createPost(stack, friend, { caption: `friend ${i}` })).id);
        }
        const friendPosts = expected.filter((_, i) => i % 2 === 0);
        await until('the fan-out', async () => {
          const stored = (await storedTimeline(fan as string)) ?? [];
          return friendPosts.every((id) => stored.includes(id));
        });
        // The star's posts were never written to any follower's timeline, only to the star's own.
        const stored = (await storedTimeline(fan as string)) ?? [];
        assert.ok(expected.every((id) => friendPosts.includes(id) || !stored.includes(id)));
        const page = await feedPage(fan as string, 6);
        assert.deepEqual(page.ids, expected);
        assert.equal(page.hasNextPage, true);
        const rest = await feedPage(fan as string, 10, page.endCursor);
        assert.equal(rest.ids.length, 2);
        assert.equal(rest.hasNextPage, false);
      });

      test('pages past the end of a full timeline come from the authors, with no repeats or gaps', async () => {
        const [viewer, friend] = [uid('viewer'), uid('friend')];
        ok(
          await stack.gql(
            FOLLOW,
            { u: (await createPost(stack, friend)).author.id },
            { as: viewer },
          ),
        );
        await feedPage(viewer);
        const created = await inBatches(
          Array.from({ length: TIMELINE_LENGTH + 10 }, (_, i) => i),
          1,
          async (i) => (await createPost(stack, i % 4 === 0 ? viewer : friend)).id,
        );
        await until(
          'the fan-out',
          async () => (await storedTimeline(viewer))?.[0] === created.at(-1),
        );
        assert.equal((await storedTimeline(viewer))?.length, TIMELINE_LENGTH);
        const ids = (await wholeFeed(viewer, 7)).flatMap((page) => page.ids);
        assert.equal(ids.length, TIMELINE_LENGTH + 11);
        assert.equal(new Set(ids).size, ids.length);
        assert.deepEqual(ids.slice(0, TIMELINE_LENGTH + 10), [...created].reverse());
      });

      test('pages stay full when the newest timeline entries are of unfollowed authors or deleted posts', async () => {
        // A page reads a window of twice its size from the timeline; here the first windows hold
        // nothing a page may show, so the rest of the timeline must be read, not a short page given.
        const [viewer, friend, former] = [uid('viewer'), uid('friend'), uid('former')];
        await createPost(stack, friend);
        await createPost(stack, former);
        ok(await stack.gql(FOLLOW, { u: friend }, { as: viewer }));
        ok(await stack.gql(FOLLOW, { u: former }, { as: viewer }));
        await feedPage(viewer);
        const kept = await inBatches(
          [0, 1, 2, 3, 4],
          1,
          async () => (await createPost(stack, friend)).id,
        );
        const unfollowed = await inBatches(
          [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
          1,
          async () => (await createPost(stack, former)).id,
        );
        const deleted = await inBatches(
          [0, 1, 2, 3, 4, 5, 6],
          1,
          async () => (await createPost(stack, friend)).id,
        );
        await until(
          'the fan-out',
          async () => (await storedTimeline(viewer))?.[0] === deleted.at(-1),
        );
        ok(await stack.gql(UNFOLLOW, { u: former }, { as: viewer }));
        for (const id of deleted) {
          ok(await stack.gql(`mutation($id: ID!) { deletePost(id: $id) }`, { id }, { as: friend }));
        }
        assert.equal(
          unfollowed.length + deleted.length + kept.length + 2,
          (await storedTimeline(viewer))?.length,
        );
        const pages = await wholeFeed(viewer, 2);
        assert.deepEqual(
          pages.map((page) => page.ids.length),
          [2, 2, 2],
        );
        assert.deepEqual(pages.flatMap((page) => page.ids).slice(0, 5), [...kept].reverse());
      });

      test('a lost timeline is rebuilt on the next read with the same posts', async () => {
        const [viewer, friend] = [uid('viewer'), uid('friend')];
        await createPost(stack, friend);
        await createPost(stack, viewer);
        ok(await stack.gql(FOLLOW, { u: friend }, { as: viewer }));
        const before = await feedPage(viewer);
        assert.equal(before.ids.length, 2);
        // As the TTL index on `builtAt` drops a timeline a week after its last rebuild.
        const ttl = (await timelines().indexes()).find((index) => index.key.builtAt === 1);
        assert.equal(ttl?.expireAfterSeconds, 7 * 86_400);
        await timelines().deleteOne(timelineKey(viewer));
        assert.deepEqual(await feedPage(viewer), before);
        assert.deepEqual(await storedTimeline(viewer), before.ids);
      });

      test('following someone brings their recent posts in at once; unfollowing takes them out', async () => {
        const [viewer, friend] = [uid('viewer'), uid('friend')];
        await createPost(stack, viewer);
        await feedPage(viewer);
        const theirs = [(await createPost(stack, friend)).id, (await createPost(stack, friend)).id];
        ok(await stack.gql(FOLLOW, { u: friend }, { as: viewer }));
        assert.deepEqual((await feedPage(viewer)).ids.slice(0, 2), [...theirs].reverse());
        ok(await stack.gql(UNFOLLOW, { u: friend }, { as: viewer }));
        assert.deepEqual((await feedPage(viewer)).authors, [viewer]);
      });
    });

    describe('follow and unfollow', () => {
      test('are idempotent: counts stay 1, then 0', async () => {
        const [a, b] = [uid('a'), uid('b')];
        await createPost(stack, b);

        const first: any = ok(await stack.gql(FOLLOW, { u: b }, { as: a }));
        assert.deepEqual(first.followUser, {
          id: b,
          followerCount: 1,
          followingCount: 0,
          viewerFollows: true,
        });
        const second: any = ok(await stack.gql(FOLLOW, { u: b }, { as: a }));
        assert.deepEqual(second.followUser, {
          id: b,
          followerCount: 1,
          followingCount: 0,
          viewerFollows: true,
        });

        // Following created a's profile: a is a user now, following one.
        assert.deepEqual(await user(a), {
          id: a,
          followerCount: 0,
          followingCount: 1,
          viewerFollows: false,
        });
        assert.deepEqual(await user(b, a), {
          id: b,
          followerCount: 1,
          followingCount: 0,
          viewerFollows: true,
        });
        // viewerFollows is the viewer's: false for anonymous, for b looking at b, and for a third user.
        assert.equal((await user(b)).viewerFollows, false);
        assert.equal((await user(b, b)).viewerFollows, false);
        assert.equal((await user(b, uid('c'))).viewerFollows, false);
        // b does not follow a back.
        assert.equal((await user(a, b)).viewerFollows, false);

        const unfollowed: any = ok(await stack.gql(UNFOLLOW, { u: b }, { as: a }));
        assert.deepEqual(unfollowed.unfollowUser, {
          id: b,
          followerCount: 0,
          followingCount: 0,
          viewerFollows: false,
        });
        const again: any = ok(await stack.gql(UNFOLLOW, { u: b }, { as: a }));
        assert.deepEqual(again.unfollowUser, {
          id: b,
          followerCount: 0,
          followingCount: 0,
          viewerFollows: false,
        });
        assert.deepEqual(await user(a), {
          id: a,
          followerCount: 0,
          followingCount: 0,
          viewerFollows: false,
        });

        // And back again: follow after unfollow counts once more.
        const refollow: any = ok(await stack.gql(FOLLOW, { u: b }, { as: a }));
        assert.equal(refollow.followUser.followerCount, 1);
        assert.equal((await user(a)).followingCount, 1);
      });

      test('unfollowing someone never followed changes nothing', async () => {
        const [a, b] = [uid('a'), uid('b')];
        await createPost(stack, b);
        const data: any = ok(await stack.gql(UNFOLLOW, { u: b }, { as: a }));
        assert.deepEqual(data.unfollowUser, {
          id: b,
          followerCount: 0,
          followingCount: 0,
          viewerFollows: false,
        });
      });

      test('twenty concurrent follows of the same user count once; twenty concurrent unfollows leave zero', async () => {
        const [a, b] = [uid('a'), uid('b')];
        await createPost(stack, b);
        const follows = await Promise.all(
          Array.from({ length: 20 }, () => stack.gql(FOLLOW, { u: b }, { as: a })),
        );
        for (const result of follows) ok(result);
        assert.deepEqual(await user(b, a), {
          id: b,
          followerCount: 1,
          followingCount: 0,
          viewerFollows: true,
        });
        assert.equal((await user(a)).followingCount, 1);

        const unfollows = await Promise.all(
          Array.from({ length: 20 }, () => stack.gql(UNFOLLOW, { u: b }, { as: a })),
        );
        for (const result of unfollows) ok(result);
        assert.deepEqual(await user(b, a), {
          id: b,
          followerCount: 0,
          followingCount: 0,
          viewerFollows: false,
        });
        assert.equal((await user(a)).followingCount, 0);
      });

      test('every answer to a burst of follows (a double tap) reports its own follow in followerCount', async () => {
        const inconsistent: string[] = [];
        for (let round = 0; round < 5; round++) {
          const [a, b] = [uid('a'), uid('b')];
          await createPost(stack, b);
          const follows = await Promise.all(
            Array.from({ length: 10 }, () => stack.gql(FOLLOW, { u: b }, { as: a })),
          );
          for (const result of follows) {
            const data: any = ok(result);
            if (!data.followUser.viewerFollows || data.followUser.followerCount !== 1) {
              inconsistent.push(`followUser: ${JSON.stringify(data.followUser)}`);
            }
          }
          const unfollows = await Promise.all(
            Array.from({ length: 10 }, () => stack.gql(UNFOLLOW, { u: b }, { as: a })),
          );
          for (const result of unfollows) {
            const data: any = ok(result);
            if (data.unfollowUser.viewerFollows || data.unfollowUser.followerCount !== 0) {
              inconsistent.push(`unfollowUser: ${JSON.stringify(data.unfollowUser)}`);
            }
          }
        }
        assert.deepEqual(
          inconsistent,
          [],
          `${inconsistent.length} of 100 answers contradict themselves`,
        );
      });

      test('many followers at once are all counted', async () => {
        const star = uid('star');
        await createPost(stack, star);
        const fans = Array.from({ length: 30 }, () => uid('fan'));
        const results = await Promise.all(
          fans.map((fan) => stack.gql(FOLLOW, { u: star }, { as: fan })),
        );
        for (const result of results) ok(result);
        assert.equal((await user(star)).followerCount, 30);
        await Promise.all(
          fans
            .slice(0, 10)
            .map(async (fan) => ok(await stack.gql(UNFOLLOW, { u: star }, { as: fan }))),
        );
        assert.equal((await user(star)).followerCount, 20);
        assert.equal((await user(star, fans[0])).viewerFollows, false);
        assert.equal((await user(star, fans[29])).viewerFollows, true);
      });

      test('a user without a profile is NOT_FOUND; oneself is BAD_USER_INPUT; anonymous is UNAUTHENTICATED', async () => {
        const a = uid('a');
        await createPost(stack, a);
        const ghost = uid('ghost');
        assertError(await stack.gql(FOLLOW, { u: ghost }, { as: a }), 'NOT_FOUND');
        assertError(await stack.gql(UNFOLLOW, { u: ghost }, { as: a }), 'NOT_FOUND');
        assertError(await stack.gql(FOLLOW, { u: 'not a valid id!' }, { as: a }), 'NOT_FOUND');
        assertError(await stack.gql(FOLLOW, { u: a }, { as: a }), 'BAD_USER_INPUT');
        assertError(await stack.gql(UNFOLLOW, { u: a }, { as: a }), 'BAD_USER_INPUT');
        assertError(await stack.gql(FOLLOW, { u: a }), 'UNAUTHENTICATED');
        assertError(await stack.gql(UNFOLLOW, { u: a }), 'UNAUTHENTICATED');
        // None of it changed a's counts, and the ghost is still nobody.
        assert.deepEqual(await user(a), {
          id: a,
          followerCount: 0,
          followingCount: 0,
          viewerFollows: false,
        });
        assert.equal(await user(ghost), null);
      });

      test('a failed follow by a new user leaves no profile behind', async () => {
        const newcomer = uid('newcomer');
        assertError(await stack.gql(FOLLOW, { u: uid('ghost') }, { as: newcomer }), 'NOT_FOUND');
        assertError(await stack.gql(FOLLOW, { u: newcomer }, { as: newcomer }), 'BAD_USER_INPUT');
        assert.equal(await user(newcomer), null);
      });
    });

    describe('feed pagination', () => {
      test('walks every page with no repeats and no skips while new posts keep arriving', async () => {
        const viewer = uid('viewer');
        const friends = [uid('f1'), uid('f2'), uid('f3')];
        const authors = [viewer, ...friends];
        const initial: string[] = [];
        for (let i = 0; i < 41; i++)
          initial.push((await createPost(stack, authors[i % authors.length] as string)).id);
        for (const friend of friends) ok(await stack.gql(FOLLOW, { u: friend }, { as: viewer }));
        // A stranger posting at the same time must never show up either.
        const stranger = uid('stranger');
        await createPost(stack, stranger);

        // Writers post continuously, from every author, while the viewer walks the feed.
        let writing = true;
        const added: string[] = [];
        const writers = [...authors, stranger].map(async (author) => {
          while (writing) {
            const post = await createPost(stack, author);
            if (author !== stranger) added.push(post.id);
          }
        });

        const walked: string[][] = [];
        let cursor: string | null = null;
        try {
          for (let guard = 0; guard < 50; guard++) {
            // Let some posts land between every two pages.
            await sleep(10);
            const page = await feedPage(viewer, 6, cursor);
            walked.push(page.ids);
            for (const author of page.authors)
              assert.ok(authors.includes(author), `a post by ${author} is in the feed`);
            if (!page.hasNextPage) break;
            cursor = page.endCursor;
          }
        } finally {
          writing = false;
          await Promise.all(writers);
        }

        assert.ok(added.length > 0, 'no post was written during the walk');
        const all = walked.flat();
        assert.equal(new Set(all).size, all.length, 'a post appeared twice');
        assertOrdered(all, 'desc', 'the walked feed');
        // Every post that existed before the walk was seen exactly once.
        const seen = new Set(all);
        const missing = initial.filter((id) => !seen.has(id));
        assert.deepEqual(missing, [], `${missing.length} posts were skipped`);
        // New posts may appear only above every older post. (Not only in the first page: a post whose
        // id was taken before that page was read may be stored, or fanned out, just after it, and then
        // sorts below the page's end: the second page rightly starts with it.)
        const initialSet = new Set(initial);
        const firstOld = all.findIndex((id) => initialSet.has(id));
        assert.ok(
          all.slice(firstOld).every((id) => initialSet.has(id)),
          'new posts interleaved with old ones',
        );
        assert.equal(all.length - firstOld, initial.length);
      });

      test('first defaults to 20 and must be 1..100', async () => {
        const viewer = uid('viewer');
        for (let i = 0; i < 22; i++) await createPost(stack, viewer);
        const page = await feedPage(viewer);
        assert.equal(page.ids.length, 20);
        assert.equal(page.hasNextPage, true);
        const rest = await feedPage(viewer, undefined, page.endCursor);
        assert.equal(rest.ids.length, 2);
        assert.equal(rest.hasNextPage, false);
        assert.equal((await feedPage(viewer, 100)).ids.length, 22);
        assert.equal((await feedPage(viewer, 1)).ids.length, 1);
        // Exactly full: no phantom next page.
        const exact = await feedPage(viewer, 22);
        assert.equal(exact.ids.length, 22);
        assert.equal(exact.hasNextPage, false);
        for (const first of [0, -1, 101, 2 ** 31 - 1]) {
          assertError(
            await stack.gql(FEED, { first }, { as: viewer }),
            'BAD_USER_INPUT',
            `first: ${first}`,
          );
        }
      });

      test('a cursor that is garbage or from another list is BAD_USER_INPUT', async () => {
        const viewer = uid('viewer');
        const friend = uid('friend');
        const post = await createPost(stack, viewer);
        await createPost(stack, viewer);
        await createPost(stack, friend);
        ok(
          await stack.gql(
            `mutation($p: ID!) { likePost(postId: $p) { id } }`,
            { p: post.id },
            { as: friend },
          ),
        );
        ok(
          await stack.gql(
            `mutation($p: ID!) { addComment(postId: $p, body: "hi") { id } }`,
            { p: post.id },
            { as: friend },
          ),
        );
        const lists: any = ok(
          await stack.gql(
            `query($id: ID!, $p: ID!) {
              user(id: $id) { posts(first: 1) { pageInfo { endCursor } } }
              post(id: $p) {
                likes(first: 1) { pageInfo { endCursor } }
                comments(first: 1) { pageInfo { endCursor } }
              }
            }`,
            { id: viewer, p: post.id },
          ),
        );
        const postsCursor = lists.user.posts.pageInfo.endCursor as string;
        const likesCursor = lists.post.likes.pageInfo.endCursor as string;
        const commentsCursor = lists.post.comments.pageInfo.endCursor as string;
        for (const cursor of [postsCursor, likesCursor, commentsCursor])
          assert.equal(typeof cursor, 'string');
        const feedCursor = (await feedPage(viewer, 1)).endCursor as string;

        const bad: [string, string][] = [
          ['garbage', 'garbage!'],
          ['a raw post id', post.id],
          ['base64 of junk', Buffer.from('feed:nothex').toString('base64url')],
          ['the cursor of User.posts', postsCursor],
          ['the cursor of Post.likes', likesCursor],
          ['the cursor of Post.comments', commentsCursor],
          ['a very long string', 'A'.repeat(10_000)],
        ];
        for (const [what, after] of bad) {
          assertError(
            await stack.gql(FEED, { first: 5, after }, { as: viewer }),
            'BAD_USER_INPUT',
            what,
          );
        }
        // And the other way round: the feed's cursor is refused by User.posts.
        assertError(
          await stack.gql(
            `query($id: ID!, $a: String) { user(id: $id) { posts(after: $a) { edges { cursor } } } }`,
            {
              id: viewer,
              a: feedCursor,
            },
          ),
          'BAD_USER_INPUT',
        );
        // A good feed cursor still works: the viewer's second post (the friend is not followed).
        assert.deepEqual((await feedPage(viewer, 5, feedCursor)).ids, [post.id]);
      });
    });
  });
}
