import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { shardOfUser } from '../../platform/ids.js';
import { ok, startStack, type TestStack } from '../helpers/stack.js';
import {
  assertError,
  assertOrdered,
  CREATE_POST,
  createPost,
  ISO_DATE,
  PHOTO,
  POST_ID,
  sleep,
  uid,
  unknownPostId,
  VIDEO,
  type CreatedPost,
} from './support.js';

let stack: TestStack;

before(async () => {
  stack = await startStack();
});

after(async () => {
  await stack?.stop();
});

const POST = `query Post($id: ID!) {
  post(id: $id) {
    id caption createdAt updatedAt
    author { id }
    media { kind url width height durationMs thumbnailUrl }
  }
}`;

const USER_POSTS = `query UserPosts($id: ID!, $first: Int, $after: String) {
  user(id: $id) {
    id
    posts(first: $first, after: $after) {
      edges { cursor node { id author { id } } }
      pageInfo { hasNextPage endCursor }
    }
  }
}`;

const UPDATE = `mutation Update($id: ID!, $caption: String) {
  updatePost(id: $id, caption: $caption) { id caption createdAt updatedAt author { id } }
}`;

const DELETE = `mutation Delete($id: ID!) { deletePost(id: $id) }`;

async function readPost(id: string, as?: string) {
  return ok(await stack.gql<{ post: CreatedPost | null }>(POST, { id }, as ? { as } : {})).post;
}

async function allPostIds(userId: string, first: number): Promise<string[][]> {
  const pages: string[][] = [];
  let cursor: string | null = null;
  for (let guard = 0; guard < 100; guard++) {
    const data: any = ok(await stack.gql(USER_POSTS, { id: userId, first, after: cursor }));
    const connection = data.user.posts;
    pages.push(connection.edges.map((edge: any) => edge.node.id));
    for (const edge of connection.edges) assert.equal(edge.node.author.id, userId);
    if (connection.edges.length > 0) {
      assert.equal(connection.pageInfo.endCursor, connection.edges.at(-1).cursor);
    } else {
      assert.equal(connection.pageInfo.endCursor, null);
    }
    if (!connection.pageInfo.hasNextPage) return pages;
    cursor = connection.pageInfo.endCursor;
  }
  throw new Error('pagination never ended');
}

describe('createPost', () => {
  test('a photo post round-trips every field, with ISO times', async () => {
    const alice = uid('alice');
    const before = Date.now();
    const created = await createPost(stack, alice, {
      caption: 'Golden hour 🌅 #nofilter',
      media: [PHOTO],
    });
    const afterCreate = Date.now();

    assert.match(created.id, POST_ID);
    assert.equal(created.author.id, alice);
    assert.equal(created.caption, 'Golden hour 🌅 #nofilter');
    assert.deepEqual(created.media, [{ ...PHOTO, durationMs: null }]);
    assert.match(created.createdAt, ISO_DATE);
    assert.match(created.updatedAt, ISO_DATE);
    assert.equal(created.updatedAt, created.createdAt);
    const createdAt = Date.parse(created.createdAt);
    assert.ok(
      createdAt >= before - 1_000 && createdAt <= afterCreate + 1_000,
      `createdAt ${created.createdAt} is not now`,
    );

    // Read back, anonymously and signed in as someone else: the same post.
    assert.deepEqual(await readPost(created.id), created);
    assert.deepEqual(await readPost(created.id, uid('bob')), created);
  });

  test('a video post keeps durationMs and thumbnailUrl; optional fields default to null', async () => {
    const alice = uid('alice');
    const bare = { kind: 'PHOTO', url: 'https://cdn.example.com/bare.png' };
    const created = await createPost(stack, alice, { caption: null, media: [VIDEO, bare] });
    assert.equal(created.caption, null);
    assert.deepEqual(created.media, [
      VIDEO,
      {
        kind: 'PHOTO',
        url: 'https://cdn.example.com/bare.png',
        width: null,
        height: null,
        durationMs: null,
        thumbnailUrl: null,
      },
    ]);
    assert.deepEqual(await readPost(created.id), created);
  });

  test('ten media items are accepted and kept in order', async () => {
    const media = Array.from({ length: 10 }, (_, i) => ({
      kind: 'PHOTO',
      url: `https://cdn.example.com/${i}.jpg`,
    }));
    const created = await createPost(stack, uid('alice'), { media });
    assert.deepEqual(
      created.media.map((item) => item.url),
      media.map((item) => item.url),
    );
  });

  test('a caption of exactly 2,200 characters counts emoji as one character each', async () => {
    const emojiCaption = '🌅'.repeat(2_200); // 4,400 UTF-16 code units, 2,200 code points
    const created = await createPost(stack, uid('alice'), { caption: emojiCaption });
    assert.equal(created.caption, emojiCaption);
    const plain = 'a'.repeat(2_200);
    assert.equal((await createPost(stack, uid('alice'), { caption: plain })).caption, plain);
  });

  const invalid: [string, unknown][] = [
    ['caption of 2,201 characters', { caption: 'a'.repeat(2_201), media: [PHOTO] }],
    ['caption of 2,201 emoji', { caption: '😀'.repeat(2_201), media: [PHOTO] }],
    ['no media', { caption: 'x', media: [] }],
    ['eleven media items', { media: Array.from({ length: 11 }, () => PHOTO) }],
    ['an http url', { media: [{ kind: 'PHOTO', url: 'http://cdn.example.com/a.jpg' }] }],
    ['a javascript: url', { media: [{ kind: 'PHOTO', url: 'javascript:alert(1)' }] }],
    ['a url that is no url', { media: [{ kind: 'PHOTO', url: 'not a url' }] }],
    // The URL parser drops these; stored, the url would differ from the URL it stands for.
    ['a url with a leading space', { media: [{ kind: 'PHOTO', url: ` ${PHOTO.url}` }] }],
    [
      'a url with a tab inside',
      { media: [{ kind: 'PHOTO', url: 'https://cdn.exa\tmple.com/a.jpg' }] },
    ],
    ['a caption with a lone surrogate', { caption: 'bad \udc00', media: [PHOTO] }],
    ['a url with a C1 control', { media: [{ kind: 'PHOTO', url: 'https://x.test/a\u0085.jpg' }] }],
    [
      'a thumbnailUrl with a line separator',
      { media: [{ ...VIDEO, thumbnailUrl: 'https://x.test/t\u2028.jpg' }] },
    ],
    [
      'an http thumbnailUrl',
      { media: [{ ...VIDEO, thumbnailUrl: 'http://cdn.example.com/t.jpg' }] },
    ],
    ['an assetId', { media: [{ assetId: 'asset-123' }] }],
    [
      'an assetId with kind and url',
      { media: [{ assetId: 'asset-123', kind: 'PHOTO', url: PHOTO.url }] },
    ],
    ['media without a url', { media: [{ kind: 'PHOTO' }] }],
    ['media without a kind', { media: [{ url: PHOTO.url }] }],
    ['an empty media item', { media: [{}] }],
    ['durationMs on a photo', { media: [{ ...PHOTO, durationMs: 1_000 }] }],
    ['a zero width', { media: [{ ...PHOTO, width: 0 }] }],
    ['an absurd width', { media: [{ ...PHOTO, width: 100_001 }] }],
    [
      'a url over 2,048 characters',
      { media: [{ kind: 'PHOTO', url: `https://cdn.example.com/${'a'.repeat(2_048)}.jpg` }] },
    ],
    ['a negative height', { media: [{ ...PHOTO, height: -5 }] }],
    ['a negative duration', { media: [{ ...VIDEO, durationMs: -1 }] }],
    ['an unknown media kind', { media: [{ kind: 'GIF', url: PHOTO.url }] }],
    [
      'a second, bad item after a good one',
      { media: [PHOTO, { kind: 'PHOTO', url: 'ftp://x/y.jpg' }] },
    ],
  ];
  for (const [name, input] of invalid) {
    test(`BAD_USER_INPUT for ${name}, and nothing is written`, async () => {
      const author = uid('bad');
      const result = await stack.gql(CREATE_POST, { input }, { as: author });
      assertError(result, 'BAD_USER_INPUT', name);
      assert.equal(result.data?.createPost ?? null, null);
      // A failed first write leaves no profile and no post behind.
      const data: any = ok(
        await stack.gql(`query($id: ID!) { user(id: $id) { id } }`, { id: author }),
      );
      assert.equal(data.user, null, `${name}: a profile was created by a failed createPost`);
      const posts = await stack.mongo
        .db(`${stack.dbPrefix}_feed`)
        .collection('posts')
        .countDocuments({ shard: shardOfUser(author), authorId: author });
      assert.equal(posts, 0, `${name}: a post was stored`);
    });
  }

  test('anonymous createPost is UNAUTHENTICATED', async () => {
    const result = await stack.gql(CREATE_POST, { input: { media: [PHOTO] } });
    assertError(result, 'UNAUTHENTICATED');
  });

  test('ids are unique and time-ordered across quick successive posts', async () => {
    const alice = uid('alice');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await createPost(stack, alice)).id);
    assert.equal(new Set(ids).size, 5);
    assertOrdered(ids, 'asc', 'post ids in creation order');
  });
});

describe('updatePost', () => {
  test('the author changes the caption; updatedAt moves, createdAt stays', async () => {
    const alice = uid('alice');
    const post = await createPost(stack, alice, { caption: 'before' });
    await sleep(15);
    const data: any = ok(
      await stack.gql(UPDATE, { id: post.id, caption: 'after ✨' }, { as: alice }),
    );
    assert.equal(data.updatePost.id, post.id);
    assert.equal(data.updatePost.caption, 'after ✨');
    assert.equal(data.updatePost.createdAt, post.createdAt);
    assert.match(data.updatePost.updatedAt, ISO_DATE);
    assert.ok(data.updatePost.updatedAt > post.updatedAt, 'updatedAt did not move forward');
    const read = await readPost(post.id);
    assert.equal(read?.caption, 'after ✨');
    assert.equal(read?.updatedAt, data.updatePost.updatedAt);
    assert.deepEqual(read?.media, post.media);
  });

  test('a null caption removes it', async () => {
    const alice = uid('alice');
    const post = await createPost(stack, alice, { caption: 'to be removed' });
    const data: any = ok(await stack.gql(UPDATE, { id: post.id, caption: null }, { as: alice }));
    assert.equal(data.updatePost.caption, null);
    assert.equal((await readPost(post.id))?.caption, null);
  });

  test('someone else gets FORBIDDEN and the post is unchanged', async () => {
    const alice = uid('alice');
    const post = await createPost(stack, alice, { caption: 'mine' });
    const result = await stack.gql(
      UPDATE,
      { id: post.id, caption: 'hijacked' },
      { as: uid('mallory') },
    );
    assertError(result, 'FORBIDDEN');
    assert.deepEqual(await readPost(post.id), post);
  });

  test('unknown and malformed ids are NOT_FOUND', async () => {
    const alice = uid('alice');
    for (const id of [
      unknownPostId(),
      'nope',
      '',
      'ZZZZZZZZZZZZZZZZZZZZZZZZZ',
      `${unknownPostId()}0`,
    ]) {
      assertError(
        await stack.gql(UPDATE, { id, caption: 'x' }, { as: alice }),
        'NOT_FOUND',
        `updatePost("${id}")`,
      );
    }
  });

  test('a caption over 2,200 characters is BAD_USER_INPUT and the post is unchanged', async () => {
    const alice = uid('alice');
    const post = await createPost(stack, alice, { caption: 'short' });
    assertError(
      await stack.gql(UPDATE, { id: post.id, caption: 'b'.repeat(2_201) }, { as: alice }),
      'BAD_USER_INPUT',
    );
    assert.deepEqual(await readPost(post.id), post);
  });

  test('anonymous updatePost is UNAUTHENTICATED', async () => {
    const post = await createPost(stack, uid('alice'));
    assertError(await stack.gql(UPDATE, { id: post.id, caption: 'x' }), 'UNAUTHENTICATED');
  });
});

describe('deletePost', () => {
  test('only the author deletes; then the post is gone everywhere', async () => {
    const alice = uid('alice');
    const follower = uid('fan');
    const keep = await createPost(stack, alice, { caption: 'keep' });
    const doomed = await createPost(stack, alice, { caption: 'doomed' });
    // The follower sees both posts in their feed.
    await createPost(stack, follower);
    ok(
      await stack.gql(
        `mutation($u: ID!) { followUser(userId: $u) { id } }`,
        { u: alice },
        { as: follower },
      ),
    );

    assertError(await stack.gql(DELETE, { id: doomed.id }, { as: follower }), 'FORBIDDEN');
    assert.notEqual(await readPost(doomed.id), null, 'a stranger deleted the post');

    const data: any = ok(await stack.gql(DELETE, { id: doomed.id }, { as: alice }));
    assert.equal(data.deletePost, doomed.id);

    assert.equal(await readPost(doomed.id), null);
    assert.equal(await readPost(doomed.id, alice), null);
    const pages = await allPostIds(alice, 20);
    assert.deepEqual(pages.flat(), [keep.id]);
    const feed: any = ok(
      await stack.gql(`{ feed { edges { node { id } } } }`, {}, { as: follower }),
    );
    const feedIds = feed.feed.edges.map((edge: any) => edge.node.id);
    assert.ok(feedIds.includes(keep.id), 'the surviving post is missing from the feed');
    assert.ok(!feedIds.includes(doomed.id), 'the deleted post is still in the feed');
    const ownFeed: any = ok(
      await stack.gql(`{ feed { edges { node { id } } } }`, {}, { as: alice }),
    );
    assert.deepEqual(
      ownFeed.feed.edges.map((edge: any) => edge.node.id),
      [keep.id],
    );

    // Deleting or updating it again: NOT_FOUND.
    assertError(await stack.gql(DELETE, { id: doomed.id }, { as: alice }), 'NOT_FOUND');
    assertError(
      await stack.gql(UPDATE, { id: doomed.id, caption: 'x' }, { as: alice }),
      'NOT_FOUND',
    );
  });

  test('unknown and malformed ids are NOT_FOUND', async () => {
    const alice = uid('alice');
    for (const id of [unknownPostId(), 'not-an-id', '0']) {
      assertError(
        await stack.gql(DELETE, { id }, { as: alice }),
        'NOT_FOUND',
        `deletePost("${id}")`,
      );
    }
  });

  test('anonymous deletePost is UNAUTHENTICATED and deletes nothing', async () => {
    const post = await createPost(stack, uid('alice'));
    assertError(await stack.gql(DELETE, { id: post.id }), 'UNAUTHENTICATED');
    assert.notEqual(await readPost(post.id), null);
  });
});

describe('post(id)', () => {
  test('malformed and unknown ids give null without errors', async () => {
    for (const id of [
      unknownPostId(),
      'garbage',
      '',
      'x'.repeat(500),
      '../../etc/passwd',
      '{"$gt":""}',
    ]) {
      const result = await stack.gql(POST, { id });
      assert.deepEqual(ok(result), { post: null }, `post("${id}")`);
    }
  });

  test('the author resolves to the user, with their profile fields', async () => {
    const alice = uid('alice');
    const post = await createPost(stack, alice);
    const data: any = ok(
      await stack.gql(
        `query($id: ID!) { post(id: $id) { author { id followerCount followingCount viewerFollows posts(first: 1) { edges { node { id } } } } } }`,
        { id: post.id },
      ),
    );
    assert.deepEqual(data.post.author, {
      id: alice,
      followerCount: 0,
      followingCount: 0,
      viewerFollows: false,
      posts: { edges: [{ node: { id: post.id } }] },
    });
  });
});

describe('user and viewer', () => {
  const USER = `query($id: ID!) { user(id: $id) { id followerCount followingCount viewerFollows } }`;
  const VIEWER = `{ viewer { id followerCount followingCount viewerFollows posts { edges { node { id } } pageInfo { hasNextPage endCursor } } } }`;

  test('user(id) is null until the user first writes, then has a profile', async () => {
    const carol = uid('carol');
    assert.deepEqual(ok(await stack.gql(USER, { id: carol })), { user: null });
    await createPost(stack, carol);
    assert.deepEqual(ok(await stack.gql(USER, { id: carol })), {
      user: { id: carol, followerCount: 0, followingCount: 0, viewerFollows: false },
    });
  });

  test('user(id) with an id no token could carry is null, not an error', async () => {
    for (const id of ['has space', '', 'x'.repeat(65), 'ünïcode', 'a/b']) {
      assert.deepEqual(ok(await stack.gql(USER, { id })), { user: null }, `user("${id}")`);
    }
  });

  test('viewer is null when anonymous and never null when signed in', async () => {
    assert.deepEqual(ok(await stack.gql(VIEWER)), { viewer: null });
    const dave = uid('dave');
    // No profile yet: still a viewer, with empty lists and zero counts.
    assert.deepEqual(ok(await stack.gql(VIEWER, {}, { as: dave })), {
      viewer: {
        id: dave,
        followerCount: 0,
        followingCount: 0,
        viewerFollows: false,
        posts: { edges: [], pageInfo: { hasNextPage: false, endCursor: null } },
      },
    });
    const post = await createPost(stack, dave);
    const data: any = ok(await stack.gql(VIEWER, {}, { as: dave }));
    assert.equal(data.viewer.id, dave);
    assert.deepEqual(
      data.viewer.posts.edges.map((edge: any) => edge.node.id),
      [post.id],
    );
  });

  test('User.posts pages newest first with no repeats or gaps, and only that author', async () => {
    const erin = uid('erin');
    const other = uid('other');
    const created: string[] = [];
    for (let i = 0; i < 7; i++) {
      created.push((await createPost(stack, erin, { caption: `erin ${i}` })).id);
      if (i % 2 === 0) await createPost(stack, other);
    }
    const newestFirst = [...created].reverse();

    const pages = await allPostIds(erin, 3);
    assert.deepEqual(
      pages.map((page) => page.length),
      [3, 3, 1],
    );
    assert.deepEqual(pages.flat(), newestFirst);

    // Exactly one page when it fits, with hasNextPage false.
    const whole = await allPostIds(erin, 7);
    assert.deepEqual(whole, [newestFirst]);
    // The createdAt order agrees with the id order.
    const data: any = ok(
      await stack.gql(
        `query($id: ID!) { user(id: $id) { posts(first: 100) { edges { node { id createdAt } } } } }`,
        { id: erin },
      ),
    );
    const times = data.user.posts.edges.map((edge: any) => edge.node.createdAt);
    assert.deepEqual([...times].sort().reverse(), times);
  });

  test('User.posts defaults to 20 and accepts 1..100 only', async () => {
    const fay = uid('fay');
    for (let i = 0; i < 21; i++) await createPost(stack, fay);
    const data: any = ok(await stack.gql(USER_POSTS, { id: fay }));
    assert.equal(data.user.posts.edges.length, 20);
    assert.equal(data.user.posts.pageInfo.hasNextPage, true);
    const rest: any = ok(
      await stack.gql(USER_POSTS, { id: fay, after: data.user.posts.pageInfo.endCursor }),
    );
    assert.equal(rest.user.posts.edges.length, 1);
    assert.equal(rest.user.posts.pageInfo.hasNextPage, false);

    assert.equal(
      (ok(await stack.gql(USER_POSTS, { id: fay, first: 100 })) as any).user.posts.edges.length,
      21,
    );
    assert.equal(
      (ok(await stack.gql(USER_POSTS, { id: fay, first: 1 })) as any).user.posts.edges.length,
      1,
    );
    for (const first of [0, -1, 101, 1_000_000]) {
      assertError(
        await stack.gql(USER_POSTS, { id: fay, first }),
        'BAD_USER_INPUT',
        `first: ${first}`,
      );
    }
    for (const cursor of [
      'garbage',
      'Zm9vOmJhcg',
      '',
      data.user.posts.edges[0].cursor.slice(0, -2),
    ]) {
      assertError(
        await stack.gql(USER_POSTS, { id: fay, after: cursor }),
        'BAD_USER_INPUT',
        `after: "${cursor}"`,
      );
    }
  });
});
