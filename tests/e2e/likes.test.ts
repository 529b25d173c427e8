import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { LikeEvent } from '../../platform/events.js';
import { shardOfId } from '../../platform/ids.js';
import { usersStore } from '../../subgraphs/feed/store/users.js';
import type { LikeDoc } from '../../subgraphs/likes/store/likes.js';
import { likesStores } from '../../subgraphs/likes/stores.js';
import { sample } from '../helpers/metrics.js';
import { ok, startStack, type TestStack } from '../helpers/stack.js';
import { until } from '../helpers/ws.js';
import {
  assertError,
  assertSupersededIndexDropped,
  createPost,
  inBatches,
  ISO_DATE,
  uid,
  unknownPostId,
} from './support.js';

let stack: TestStack;

before(async () => {
  stack = await startStack();
});

after(async () => {
  await stack?.stop();
});

const LIKE = `mutation Like($p: ID!) { likePost(postId: $p) { id likeCount viewerHasLiked } }`;
const UNLIKE = `mutation Unlike($p: ID!) { unlikePost(postId: $p) { id likeCount viewerHasLiked } }`;
const COUNTS = `query Counts($p: ID!) { post(id: $p) { id likeCount viewerHasLiked } }`;
const LIKES = `query Likes($p: ID!, $first: Int, $after: String) {
  post(id: $p) {
    likes(first: $first, after: $after) {
      edges { cursor node { createdAt user { id } } }
      pageInfo { hasNextPage endCursor }
    }
  }
}`;

async function counts(
  postId: string,
  as?: string,
): Promise<{ likeCount: number; viewerHasLiked: boolean }> {
  const data: any = ok(await stack.gql(COUNTS, { p: postId }, as ? { as } : {}));
  assert.notEqual(data.post, null, 'the post is missing');
  return { likeCount: data.post.likeCount, viewerHasLiked: data.post.viewerHasLiked };
}

/** Every like of a post, page by page, newest first. */
async function allLikers(
  postId: string,
  first = 100,
): Promise<{ users: string[]; times: string[]; pages: number }> {
  const users: string[] = [];
  const times: string[] = [];
  let cursor: string | null = null;
  for (let pages = 1; pages < 200; pages++) {
    const data: any = ok(await stack.gql(LIKES, { p: postId, first, after: cursor }));
    const connection = data.post.likes;
    assert.ok(connection.edges.length <= first);
    for (const edge of connection.edges) {
      users.push(edge.node.user.id);
      times.push(edge.node.createdAt);
    }
    if (!connection.pageInfo.hasNextPage) return { users, times, pages };
    cursor = connection.pageInfo.endCursor;
  }
  throw new Error('likes never ended');
}

describe('likePost and unlikePost', () => {
  test('are idempotent and drive likeCount and viewerHasLiked', async () => {
    const [author, fan, other] = [uid('author'), uid('fan'), uid('other')];
    const post = await createPost(stack, author);
    assert.deepEqual(await counts(post.id, fan), { likeCount: 0, viewerHasLiked: false });

    const first: any = ok(await stack.gql(LIKE, { p: post.id }, { as: fan }));
    assert.deepEqual(first.likePost, { id: post.id, likeCount: 1, viewerHasLiked: true });
    const second: any = ok(await stack.gql(LIKE, { p: post.id }, { as: fan }));
    assert.deepEqual(second.likePost, { id: post.id, likeCount: 1, viewerHasLiked: true });

    assert.deepEqual(await counts(post.id, fan), { likeCount: 1, viewerHasLiked: true });
    // Anonymous readers and other users see the count but have not liked it.
    assert.deepEqual(await counts(post.id), { likeCount: 1, viewerHasLiked: false });
    assert.deepEqual(await counts(post.id, other), { likeCount: 1, viewerHasLiked: false });
    assert.deepEqual(await counts(post.id, author), { likeCount: 1, viewerHasLiked: false });

    const unliked: any = ok(await stack.gql(UNLIKE, { p: post.id }, { as: fan }));
    assert.deepEqual(unliked.unlikePost, { id: post.id, likeCount: 0, viewerHasLiked: false });
    const again: any = ok(await stack.gql(UNLIKE, { p: post.id }, { as: fan }));
    assert.deepEqual(again.unlikePost, { id: post.id, likeCount: 0, viewerHasLiked: false });
    assert.deepEqual(await counts(post.id, fan), { likeCount: 0, viewerHasLiked: false });
    assert.deepEqual((await allLikers(post.id)).users, []);

    // Liking after unliking counts again.
    const relike: any = ok(await stack.gql(LIKE, { p: post.id }, { as: fan }));
    assert.deepEqual(relike.likePost, { id: post.id, likeCount: 1, viewerHasLiked: true });
    assert.deepEqual((await allLikers(post.id)).users, [fan]);
  });

  test('unliking a post never liked is a no-op', async () => {
    const post = await createPost(stack, uid('author'));
    const data: any = ok(await stack.gql(UNLIKE, { p: post.id }, { as: uid('fan') }));
    assert.deepEqual(data.unlikePost, { id: post.id, likeCount: 0, viewerHasLiked: false });
  });

  test('an author may like their own post', async () => {
    const author = uid('author');
    const post = await createPost(stack, author);
    const data: any = ok(await stack.gql(LIKE, { p: post.id }, { as: author }));
    assert.deepEqual(data.likePost, { id: post.id, likeCount: 1, viewerHasLiked: true });
  });

  test('NOT_FOUND for unknown, malformed and deleted posts; nothing is stored', async () => {
    const [author, fan] = [uid('author'), uid('fan')];
    for (const id of [unknownPostId(), 'nope', '', 'G'.repeat(25)]) {
      assertError(await stack.gql(LIKE, { p: id }, { as: fan }), 'NOT_FOUND', `likePost("${id}")`);
      assertError(
        await stack.gql(UNLIKE, { p: id }, { as: fan }),
        'NOT_FOUND',
        `unlikePost("${id}")`,
      );
    }

    const post = await createPost(stack, author);
    ok(await stack.gql(LIKE, { p: post.id }, { as: author }));
    ok(
      await stack.gql(
        `mutation($id: ID!) { deletePost(id: $id) }`,
        { id: post.id },
        { as: author },
      ),
    );
    assertError(
      await stack.gql(LIKE, { p: post.id }, { as: fan }),
      'NOT_FOUND',
      'likePost of a deleted post',
    );
    assertError(
      await stack.gql(UNLIKE, { p: post.id }, { as: author }),
      'NOT_FOUND',
      'unlikePost of a deleted post',
    );
    const liked = await stack.gql(`query($p: ID!) { post(id: $p) { id } }`, { p: post.id });
    assert.deepEqual(ok(liked), { post: null });

    // The failed like left no like row for the fan.
    const { shardOfId } = await import('../../platform/ids.js');
    const rows = await stack.mongo
      .db(`${stack.dbPrefix}_likes`)
      .collection('likes')
      .countDocuments({ shard: shardOfId(post.id), postId: post.id, userId: fan });
    assert.equal(rows, 0);
  });

  test('anonymous like and unlike are UNAUTHENTICATED', async () => {
    const post = await createPost(stack, uid('author'));
    assertError(await stack.gql(LIKE, { p: post.id }), 'UNAUTHENTICATED');
    assertError(await stack.gql(UNLIKE, { p: post.id }), 'UNAUTHENTICATED');
    assert.equal((await counts(post.id)).likeCount, 0);
  });

  test('calling the likes subgraph directly without a token is UNAUTHENTICATED', async () => {
    const post = await createPost(stack, uid('author'));
    const result = await stack.gql(LIKE, { p: post.id }, { url: stack.urls.likes });
    assertError(result, 'UNAUTHENTICATED');
    // With a token the subgraph serves it: the check is the token, not where the call comes from.
    const fan = uid('fan');
    const direct = await stack.gql(
      `mutation($p: ID!) { likePost(postId: $p) { id viewerHasLiked } }`,
      { p: post.id },
      {
        url: stack.urls.likes,
        as: fan,
      },
    );
    assert.deepEqual(ok(direct), { likePost: { id: post.id, viewerHasLiked: true } });
    assert.deepEqual(await counts(post.id, fan), { likeCount: 1, viewerHasLiked: true });
  });

  test('a forged token sent straight to the likes subgraph is refused', async () => {
    const post = await createPost(stack, uid('author'));
    const { signDevToken } = await import('../../platform/auth.js');
    const forged = await signDevToken(uid('mallory'), 'some-other-secret-that-is-long-enough-0123');
    const result = await stack.gql(LIKE, { p: post.id }, { url: stack.urls.likes, token: forged });
    assert.equal(result.status, 401);
    assertError(result, 'UNAUTHENTICATED');
    assert.equal((await counts(post.id)).likeCount, 0);
  });
});

describe('likes connection', () => {
  test("a like keeps its user's username: its page needs no trip to the feed subgraph", async () => {
    const post = await createPost(stack, uid('author'));
    const named = uid('named');
    await usersStore(stack.mongo.db(`${stack.dbPrefix}_feed`), stack.cache).ensure(named, named);
    const nameless = uid('nameless');
    for (const liker of [named, nameless]) ok(await stack.gql(LIKE, { p: post.id }, { as: liker }));
    const stored = stack.mongo.db(`${stack.dbPrefix}_likes`).collection<LikeDoc>('likes');
    const doc = (userId: string) =>
      stored.findOne({ shard: shardOfId(post.id), postId: post.id, userId });
    assert.equal((await doc(named))?.username, named);
    assert.equal((await doc(nameless))?.username, undefined);

    const NAMES = `query($p: ID!) { post(id: $p) { likes { edges { node { user { id username } } } } } }`;
    const feedFetches = () =>
      sample(stack.gatewayUrl, 'subgraph_fetch_duration_seconds_count', { subgraph: 'feed' });
    const expected = {
      post: {
        likes: {
          edges: [
            { node: { user: { id: nameless, username: null } } },
            { node: { user: { id: named, username: named } } },
          ],
        },
      },
    };
    // The post itself comes from the feed subgraph: one fetch, none after the likes' page.
    const fetchesBefore = await feedFetches();
    assert.deepEqual(ok(await stack.gql(NAMES, { p: post.id })), expected);
    assert.equal(
      await feedFetches(),
      fetchesBefore + 1,
      'the gateway asked the feed subgraph again',
    );

    // A like written before names were kept: the likes subgraph asks the feed subgraph.
    await stored.updateOne(
      { shard: shardOfId(post.id), postId: post.id, userId: named },
      { $unset: { username: true } },
    );
    assert.deepEqual(ok(await stack.gql(NAMES, { p: post.id })), expected);
    // Fields the like does not keep still come from the feed subgraph, through the gateway.
    assert.deepEqual(
      ok(
        await stack.gql(
          `query($p: ID!) { post(id: $p) { likes(first: 1) { edges { node { user { username followerCount } } } } } }`,
          { p: post.id },
        ),
      ),
      { post: { likes: { edges: [{ node: { user: { username: null, followerCount: 0 } } }] } } },
    );
  });

  test('lists likers newest first, with times, across pages', async () => {
    const post = await createPost(stack, uid('author'));
    const likers = Array.from({ length: 7 }, () => uid('liker'));
    for (const liker of likers) ok(await stack.gql(LIKE, { p: post.id }, { as: liker }));
    const newestFirst = [...likers].reverse();

    const whole = await allLikers(post.id);
    assert.deepEqual(whole.users, newestFirst);
    assert.equal(whole.pages, 1);
    for (const time of whole.times) assert.match(time, ISO_DATE);
    assert.deepEqual([...whole.times].sort().reverse(), whole.times);

    const paged = await allLikers(post.id, 3);
    assert.deepEqual(paged.users, newestFirst);
    assert.equal(paged.pages, 3);

    // Default page size and bounds.
    const data: any = ok(await stack.gql(LIKES, { p: post.id }));
    assert.equal(data.post.likes.edges.length, 7);
    assert.equal(data.post.likes.pageInfo.hasNextPage, false);
    for (const first of [0, 101, -3]) {
      assertError(
        await stack.gql(LIKES, { p: post.id, first }),
        'BAD_USER_INPUT',
        `first: ${first}`,
      );
    }
    assertError(
      await stack.gql(LIKES, { p: post.id, after: 'bogus' }),
      'BAD_USER_INPUT',
      'after: bogus',
    );
    const postsCursor: any = ok(
      await stack.gql(
        `query($id: ID!) { post(id: $id) { author { posts(first: 1) { pageInfo { endCursor } } } } }`,
        {
          id: post.id,
        },
      ),
    );
    assertError(
      await stack.gql(LIKES, {
        p: post.id,
        after: postsCursor.post.author.posts.pageInfo.endCursor,
      }),
      'BAD_USER_INPUT',
      'a User.posts cursor',
    );
  });

  test('an unliked user leaves the list and a re-like moves them to the top', async () => {
    const post = await createPost(stack, uid('author'));
    const [a, b, c] = [uid('a'), uid('b'), uid('c')];
    for (const user of [a, b, c]) ok(await stack.gql(LIKE, { p: post.id }, { as: user }));
    ok(await stack.gql(UNLIKE, { p: post.id }, { as: b }));
    assert.deepEqual((await allLikers(post.id)).users, [c, a]);
    ok(await stack.gql(LIKE, { p: post.id }, { as: a }));
    assert.deepEqual(
      (await allLikers(post.id)).users,
      [c, a],
      'liking again while liked changed the order',
    );
    ok(await stack.gql(LIKE, { p: post.id }, { as: b }));
    assert.deepEqual((await allLikers(post.id)).users, [b, c, a]);
    assert.equal((await counts(post.id)).likeCount, 3);
  });

  test('likes of a post each resolve across subgraphs in one query', async () => {
    const author = uid('author');
    const posts = [
      await createPost(stack, author),
      await createPost(stack, author),
      await createPost(stack, author),
    ];
    const fan = uid('fan');
    ok(await stack.gql(LIKE, { p: (posts[1] as { id: string }).id }, { as: fan }));
    const data: any = ok(
      await stack.gql(
        `query($id: ID!) { user(id: $id) { posts { edges { node { id likeCount viewerHasLiked author { id } } } } } }`,
        { id: author },
        { as: fan },
      ),
    );
    assert.deepEqual(
      data.user.posts.edges.map((edge: any) => [
        edge.node.likeCount,
        edge.node.viewerHasLiked,
        edge.node.author.id,
      ]),
      [
        [0, false, author],
        [1, true, author],
        [0, false, author],
      ],
    );
  });
});

describe('likes under concurrency', () => {
  test('likes by many users at once ask the feed subgraph for their names in a few batches, then never again', async () => {
    const likers = Array.from({ length: 40 }, () => uid('named'));
    const users = usersStore(stack.mongo.db(`${stack.dbPrefix}_feed`), stack.cache);
    for (const liker of likers) await users.ensure(liker, liker);
    const lookups = () =>
      sample(stack.urls.feed, 'graphql_operation_duration_seconds_count', {
        operation: 'UsernamesOf',
      });
    const likeAll = async (postId: string) => {
      for (const result of await Promise.all(
        likers.map((liker) => stack.gql(LIKE, { p: postId }, { as: liker })),
      )) {
        ok(result);
      }
    };
    const first = await createPost(stack, uid('author'));
    const before = await lookups();
    await likeAll(first.id);
    const asked = (await lookups()) - before;
    assert.ok(asked >= 1 && asked <= 10, `${asked} lookups for 40 likes`);
    // Names never change: the likes subgraph remembers them.
    const second = await createPost(stack, uid('author'));
    const again = await lookups();
    await likeAll(second.id);
    assert.equal(await lookups(), again);
    const stored = stack.mongo.db(`${stack.dbPrefix}_likes`).collection<LikeDoc>('likes');
    const names = await stored
      .find({ shard: shardOfId(second.id), postId: second.id })
      .map((like) => like.username)
      .toArray();
    assert.deepEqual(names.sort(), [...likers].sort());
  });

  test('fifty parallel likes by one user count once', async () => {
    const post = await createPost(stack, uid('author'));
    const fan = uid('fan');
    const results = await Promise.all(
      Array.from({ length: 50 }, () => stack.gql(LIKE, { p: post.id }, { as: fan })),
    );
    for (const result of results) {
      const data: any = ok(result);
      assert.equal(data.likePost.id, post.id);
      assert.equal(data.likePost.viewerHasLiked, true);
      assert.ok(
        data.likePost.likeCount <= 1,
        `likeCount ${data.likePost.likeCount} after one user's likes`,
      );
    }
    assert.deepEqual(await counts(post.id, fan), { likeCount: 1, viewerHasLiked: true });
    assert.deepEqual((await allLikers(post.id)).users, [fan]);

    // And fifty parallel unlikes leave zero.
    const unlikes = await Promise.all(
      Array.from({ length: 50 }, () => stack.gql(UNLIKE, { p: post.id }, { as: fan })),
    );
    for (const result of unlikes) {
      const data: any = ok(result);
      assert.equal(data.unlikePost.viewerHasLiked, false);
    }
    assert.deepEqual(await counts(post.id, fan), { likeCount: 0, viewerHasLiked: false });
    assert.deepEqual((await allLikers(post.id)).users, []);
  });

  test('every answer to a burst of likes by one user (a double tap) reports its own like in likeCount', async () => {
    // A likePost answer that says viewerHasLiked: true must not say likeCount: 0 at the same time.
    const inconsistent: string[] = [];
    for (let round = 0; round < 5; round++) {
      const post = await createPost(stack, uid('author'));
      const fan = uid('fan');
      const results = await Promise.all(
        Array.from({ length: 20 }, () => stack.gql(LIKE, { p: post.id }, { as: fan })),
      );
      for (const result of results) {
        const data: any = ok(result);
        if (data.likePost.viewerHasLiked !== true || data.likePost.likeCount !== 1) {
          inconsistent.push(`likePost: ${JSON.stringify(data.likePost)}`);
        }
      }
      // And the same for a burst of unlikes: viewerHasLiked false must come with likeCount 0.
      const unlikes = await Promise.all(
        Array.from({ length: 20 }, () => stack.gql(UNLIKE, { p: post.id }, { as: fan })),
      );
      for (const result of unlikes) {
        const data: any = ok(result);
        if (data.unlikePost.viewerHasLiked !== false || data.unlikePost.likeCount !== 0) {
          inconsistent.push(`unlikePost: ${JSON.stringify(data.unlikePost)}`);
        }
      }
    }
    assert.deepEqual(
      inconsistent,
      [],
      `${inconsistent.length} of 200 answers contradict themselves`,
    );
  });

  test('two hundred users liking at once count 200; a hundred unliking at once leave 100', async () => {
    const post = await createPost(stack, uid('author'));
    const fans = Array.from({ length: 200 }, () => uid('fan'));
    // Tokens first, so the requests really overlap.
    await Promise.all(fans.map((fan) => stack.token(fan)));
    const { result: likes, commands } = await stack.record(() =>
      Promise.all(fans.map((fan) => stack.gql(LIKE, { p: post.id }, { as: fan }))),
    );
    // Recounts take a ticket on the counter document; writers that overlap share a recount.
    const recounts = commands.filter(
      (command) =>
        command.commandName === 'findAndModify' && command.command.findAndModify === 'like_counts',
    ).length;
    assert.ok(recounts >= 1 && recounts <= 100, `${recounts} recounts for 200 overlapping likes`);
    const failed = likes.filter((result) => result.errors?.length);
    assert.deepEqual(
      failed.map((result) => result.errors),
      [],
      `${failed.length} of 200 likes failed`,
    );
    assert.equal((await counts(post.id)).likeCount, 200);
    const listed = await allLikers(post.id);
    assert.equal(listed.users.length, 200);
    assert.deepEqual(new Set(listed.users), new Set(fans));
    assert.equal(listed.pages, 2);

    const leaving = fans.slice(0, 100);
    const staying = fans.slice(100);
    const unlikes = await Promise.all(
      leaving.map((fan) => stack.gql(UNLIKE, { p: post.id }, { as: fan })),
    );
    const failedUnlikes = unlikes.filter((result) => result.errors?.length);
    assert.deepEqual(
      failedUnlikes.map((result) => result.errors),
      [],
      `${failedUnlikes.length} of 100 unlikes failed`,
    );
    assert.equal((await counts(post.id)).likeCount, 100);
    const remaining = await allLikers(post.id, 30);
    assert.equal(remaining.users.length, 100);
    assert.deepEqual(new Set(remaining.users), new Set(staying));
    assert.equal(new Set(remaining.users).size, 100, 'a liker was listed twice');
    assert.equal((await counts(post.id, leaving[0])).viewerHasLiked, false);
    assert.equal((await counts(post.id, staying[0])).viewerHasLiked, true);
  });

  test('likes that share a recount share one live event, and the last event carries the final count', async () => {
    const post = await createPost(stack, uid('author'));
    const events = await stack.connectEvents('test-live-likes');
    const heard: LikeEvent[] = [];
    const stop = await events.pubsub.subscribe('likes', post.id, (event) => heard.push(event));
    try {
      const fans = Array.from({ length: 40 }, () => uid('fan'));
      await Promise.all(fans.map((fan) => stack.token(fan)));
      const likes = await Promise.all(
        fans.map((fan) => stack.gql(LIKE, { p: post.id }, { as: fan })),
      );
      for (const like of likes) ok(like);
      await until('the final count on the live topic', async () =>
        heard.some((event) => event.likeCount === 40),
      );
      const tickets = heard.map((event) => event.likeSeq);
      // Without sharing, every like published its recount's event: the same ticket many times.
      assert.equal(new Set(tickets).size, tickets.length, `tickets ${tickets.join(', ')}`);
      const newest = heard.reduce((a, b) => (b.likeSeq > a.likeSeq ? b : a));
      assert.equal(newest.likeCount, 40);
    } finally {
      await stop();
      await events.close();
    }
  });

  test('likes and unlikes interleaved on several posts settle on the exact counts', async () => {
    const author = uid('author');
    const posts = await inBatches([0, 1, 2], 3, () => createPost(stack, author));
    const users = Array.from({ length: 40 }, () => uid('u'));
    // Every user likes every post; then even users unlike post 0, all at once.
    const work: Promise<unknown>[] = [];
    for (const user of users)
      for (const post of posts) work.push(stack.gql(LIKE, { p: post.id }, { as: user }).then(ok));
    await Promise.all(work);
    const churn: Promise<unknown>[] = [];
    users.forEach((user, index) => {
      if (index % 2 === 0)
        churn.push(
          stack.gql(UNLIKE, { p: (posts[0] as { id: string }).id }, { as: user }).then(ok),
        );
      // Repeated likes by odd users at the same time change nothing.
      else
        churn.push(stack.gql(LIKE, { p: (posts[0] as { id: string }).id }, { as: user }).then(ok));
    });
    await Promise.all(churn);
    assert.equal((await counts((posts[0] as { id: string }).id)).likeCount, 20);
    assert.equal((await counts((posts[1] as { id: string }).id)).likeCount, 40);
    assert.equal((await counts((posts[2] as { id: string }).id)).likeCount, 40);
    assert.equal(
      new Set(posts.map((post) => post.id)).size,
      3,
      'concurrently created posts share an id',
    );
  });
});

test("start-up drops the likes' superseded index, once, and keeps the one serving counts and pages", async () => {
  const db = stack.mongo.db(`${stack.dbPrefix}_likes`);
  await assertSupersededIndexDropped(
    db.collection('likes'),
    { key: { shard: 1, postId: 1, _id: -1 }, name: 'shard_1_postId_1__id_-1' },
    'shard_1_postId_1_active_1__id_-1',
    () => likesStores(db, stack.cache, async () => true).ensureIndexes(),
  );
});
