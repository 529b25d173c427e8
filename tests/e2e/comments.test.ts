import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { shardOfId } from '../../platform/ids.js';
import { usersStore } from '../../subgraphs/feed/store/users.js';
import type { CommentDoc } from '../../subgraphs/comments/store/comments.js';
import { commentsStores } from '../../subgraphs/comments/stores.js';
import { sample } from '../helpers/metrics.js';
import { ok, startStack, type TestStack } from '../helpers/stack.js';
import {
  assertError,
  assertOrdered,
  assertSupersededIndexDropped,
  createPost,
  ISO_DATE,
  POST_ID,
  sleep,
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

const ADD = `mutation Add($p: ID!, $body: String!) {
  addComment(postId: $p, body: $body) { id body createdAt editedAt author { id } post { id } }
}`;
const EDIT = `mutation Edit($id: ID!, $body: String!) {
  editComment(id: $id, body: $body) { id body createdAt editedAt author { id } post { id } }
}`;
const DELETE = `mutation Delete($id: ID!) { deleteComment(id: $id) }`;
const COMMENT = `query Comment($id: ID!) { comment(id: $id) { id body createdAt editedAt author { id } post { id } } }`;
const COMMENTS = `query Comments($p: ID!, $first: Int, $after: String) {
  post(id: $p) {
    commentCount
    comments(first: $first, after: $after) {
      edges { cursor node { id body author { id } } }
      pageInfo { hasNextPage endCursor }
    }
  }
}`;

interface CommentView {
  id: string;
  body: string;
  createdAt: string;
  editedAt: string | null;
  author: { id: string };
  post: { id: string };
}

async function addComment(
  postId: string,
  as: string,
  body = `comment by ${as}`,
): Promise<CommentView> {
  return (ok(await stack.gql(ADD, { p: postId, body }, { as })) as any).addComment;
}

async function readComment(id: string): Promise<CommentView | null> {
  return (ok(await stack.gql(COMMENT, { id })) as any).comment;
}

async function commentCount(postId: string): Promise<number> {
  return (
    ok(await stack.gql(`query($p: ID!) { post(id: $p) { commentCount } }`, { p: postId })) as any
  ).post.commentCount;
}

async function allComments(postId: string, first = 100): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let cursor: string | null = null;
  for (let pages = 1; pages < 200; pages++) {
    const data: any = ok(await stack.gql(COMMENTS, { p: postId, first, after: cursor }));
    const connection = data.post.comments;
    assert.ok(connection.edges.length <= first);
    ids.push(...connection.edges.map((edge: any) => edge.node.id));
    if (connection.edges.length > 0)
      assert.equal(connection.pageInfo.endCursor, connection.edges.at(-1).cursor);
    if (!connection.pageInfo.hasNextPage) return { ids, pages };
    cursor = connection.pageInfo.endCursor;
  }
  throw new Error('comments never ended');
}

describe('addComment', () => {
  test('stores the trimmed body with its author and post', async () => {
    const [author, commenter] = [uid('author'), uid('commenter')];
    const post = await createPost(stack, author);
    const before = Date.now();
    const comment = await addComment(post.id, commenter, '  \n\t Nice shot! 📸  \n ');
    assert.match(comment.id, POST_ID);
    assert.equal(comment.body, 'Nice shot! 📸');
    assert.equal(comment.author.id, commenter);
    assert.equal(comment.post.id, post.id);
    assert.equal(comment.editedAt, null);
    assert.match(comment.createdAt, ISO_DATE);
    assert.ok(Math.abs(Date.parse(comment.createdAt) - before) < 5_000);
    assert.deepEqual(await readComment(comment.id), comment);
    assert.equal(await commentCount(post.id), 1);
  });

  test('a body of 2,200 characters (emoji count as one) is accepted; 2,201 is not', async () => {
    const post = await createPost(stack, uid('author'));
    const commenter = uid('commenter');
    const longest = '💬'.repeat(2_200);
    assert.equal((await addComment(post.id, commenter, `  ${longest}  `)).body, longest);
    assert.equal((await addComment(post.id, commenter, 'x'.repeat(2_200))).body, 'x'.repeat(2_200));
    // Whitespace around a full body does not count.
    assert.equal(
      (await addComment(post.id, commenter, ` ${'y'.repeat(2_200)}\n`)).body,
      'y'.repeat(2_200),
    );
    assert.equal(await commentCount(post.id), 3);
  });

  const badBodies: [string, string][] = [
    ['empty', ''],
    ['only spaces', '     '],
    ['only whitespace of all kinds', ' \n\t\r \u00a0\u2003 '],
    // Characters that print nothing: a zero-width space, a joiner, a byte-order mark.
    ['only invisible characters', ' \u200b \u200d\ufeff\u00ad '],
    ['only marks and blank letters', '\u034f\ufe0f\u3164\u2800\u0300 \u115f\u1160\uffa0'],
    // JSON lets a client send half a surrogate pair, which UTF-8 storage cannot keep.
    ['a lone surrogate', 'hi \ud800 there'],
    ['2,201 characters', 'z'.repeat(2_201)],
    ['2,201 emoji', '😀'.repeat(2_201)],
  ];
  for (const [what, body] of badBodies) {
    test(`a body that is ${what} is BAD_USER_INPUT, and nothing is stored`, async () => {
      const post = await createPost(stack, uid('author'));
      assertError(
        await stack.gql(ADD, { p: post.id, body }, { as: uid('commenter') }),
        'BAD_USER_INPUT',
        what,
      );
      assert.equal(await commentCount(post.id), 0);
      assert.deepEqual((await allComments(post.id)).ids, []);
    });
  }

  test('NOT_FOUND for unknown, malformed and deleted posts; nothing is stored', async () => {
    const commenter = uid('commenter');
    for (const id of [unknownPostId(), 'nope', '']) {
      assertError(
        await stack.gql(ADD, { p: id, body: 'hello' }, { as: commenter }),
        'NOT_FOUND',
        `addComment("${id}")`,
      );
    }
    const author = uid('author');
    const post = await createPost(stack, author);
    ok(
      await stack.gql(
        `mutation($id: ID!) { deletePost(id: $id) }`,
        { id: post.id },
        { as: author },
      ),
    );
    assertError(
      await stack.gql(ADD, { p: post.id, body: 'too late' }, { as: commenter }),
      'NOT_FOUND',
      'deleted post',
    );
    const stored = await stack.mongo
      .db(`${stack.dbPrefix}_comments`)
      .collection('comments')
      .countDocuments({ shard: shardOfId(post.id), postId: post.id });
    assert.equal(stored, 0);
  });

  test('anonymous addComment is UNAUTHENTICATED', async () => {
    const post = await createPost(stack, uid('author'));
    assertError(await stack.gql(ADD, { p: post.id, body: 'hi' }), 'UNAUTHENTICATED');
    assert.equal(await commentCount(post.id), 0);
  });
});

describe('comments connection', () => {
  test('lists comments oldest first across pages, with commentCount', async () => {
    const post = await createPost(stack, uid('author'));
    const ids: string[] = [];
    const commenters = [uid('c1'), uid('c2'), uid('c3')];
    for (let i = 0; i < 8; i++)
      ids.push((await addComment(post.id, commenters[i % 3] as string, `#${i}`)).id);
    assertOrdered(ids, 'asc', 'comment ids');

    const whole = await allComments(post.id);
    assert.deepEqual(whole, { ids, pages: 1 });
    assert.deepEqual(await allComments(post.id, 3), { ids, pages: 3 });
    assert.deepEqual(await allComments(post.id, 8), { ids, pages: 1 });
    assert.deepEqual(await allComments(post.id, 1), { ids, pages: 8 });
    assert.equal(await commentCount(post.id), 8);

    const data: any = ok(await stack.gql(COMMENTS, { p: post.id, first: 2 }));
    assert.deepEqual(
      data.post.comments.edges.map((edge: any) => [edge.node.body, edge.node.author.id]),
      [
        ['#0', commenters[0]],
        ['#1', commenters[1]],
      ],
    );
    assert.equal(data.post.comments.pageInfo.hasNextPage, true);
  });

  test('first defaults to 20 and must be 1..100; foreign cursors are refused', async () => {
    const author = uid('author');
    const post = await createPost(stack, author);
    const commenter = uid('commenter');
    for (let i = 0; i < 21; i++) await addComment(post.id, commenter, `c${i}`);
    const data: any = ok(await stack.gql(COMMENTS, { p: post.id }));
    assert.equal(data.post.comments.edges.length, 20);
    assert.equal(data.post.comments.pageInfo.hasNextPage, true);
    assert.equal(data.post.commentCount, 21);
    for (const first of [0, 101, -1]) {
      assertError(
        await stack.gql(COMMENTS, { p: post.id, first }),
        'BAD_USER_INPUT',
        `first: ${first}`,
      );
    }
    ok(
      await stack.gql(
        `mutation($p: ID!) { likePost(postId: $p) { id } }`,
        { p: post.id },
        { as: commenter },
      ),
    );
    const likes: any = ok(
      await stack.gql(`query($p: ID!) { post(id: $p) { likes { pageInfo { endCursor } } } }`, {
        p: post.id,
      }),
    );
    for (const after of ['nope', likes.post.likes.pageInfo.endCursor, post.id]) {
      assertError(
        await stack.gql(COMMENTS, { p: post.id, after }),
        'BAD_USER_INPUT',
        `after: ${after}`,
      );
    }
  });

  test('comments of different posts stay apart', async () => {
    const author = uid('author');
    const [p1, p2] = [await createPost(stack, author), await createPost(stack, author)];
    const c1 = await addComment(p1.id, uid('x'));
    const c2 = await addComment(p2.id, uid('y'));
    assert.deepEqual((await allComments(p1.id)).ids, [c1.id]);
    assert.deepEqual((await allComments(p2.id)).ids, [c2.id]);
    const data: any = ok(
      await stack.gql(
        `query($id: ID!) { user(id: $id) { posts { edges { node { id commentCount comments { edges { node { id } } } } } } } }`,
        {
          id: author,
        },
      ),
    );
    assert.deepEqual(
      data.user.posts.edges.map((edge: any) => [
        edge.node.id,
        edge.node.commentCount,
        edge.node.comments.edges.map((e: any) => e.node.id),
      ]),
      [
        [p2.id, 1, [c2.id]],
        [p1.id, 1, [c1.id]],
      ],
    );
  });

  test('thirty comments added at once are all counted and listed', async () => {
    const post = await createPost(stack, uid('author'));
    const users = Array.from({ length: 30 }, () => uid('c'));
    const added = await Promise.all(users.map((user) => addComment(post.id, user)));
    assert.equal(await commentCount(post.id), 30);
    const listed = await allComments(post.id, 7);
    assert.deepEqual(new Set(listed.ids), new Set(added.map((comment) => comment.id)));
    assert.equal(listed.ids.length, 30);
    assertOrdered(listed.ids, 'asc', 'comments');
    // The preview kept with the count is the last recount's: the first two of all thirty.
    const preview = (ok(await stack.gql(COMMENTS, { p: post.id, first: 2 })) as any).post;
    assert.deepEqual(
      preview.comments.edges.map((edge: any) => edge.node.id),
      listed.ids.slice(0, 2),
    );
    assert.equal(preview.comments.pageInfo.hasNextPage, true);
  });
});

describe('editComment', () => {
  test('the author edits: trimmed body, editedAt set, createdAt kept', async () => {
    const post = await createPost(stack, uid('author'));
    const commenter = uid('commenter');
    const comment = await addComment(post.id, commenter, 'frist');
    await sleep(10);
    const data: any = ok(
      await stack.gql(EDIT, { id: comment.id, body: '  first!  ' }, { as: commenter }),
    );
    const edited = data.editComment as CommentView;
    assert.equal(edited.id, comment.id);
    assert.equal(edited.body, 'first!');
    assert.equal(edited.createdAt, comment.createdAt);
    assert.match(edited.editedAt as string, ISO_DATE);
    assert.ok((edited.editedAt as string) > comment.createdAt, 'editedAt is not after createdAt');
    assert.equal(edited.author.id, commenter);
    assert.equal(edited.post.id, post.id);
    assert.deepEqual(await readComment(comment.id), edited);
    assert.equal(await commentCount(post.id), 1);
  });

  test("others, even the post's author, get FORBIDDEN and the comment is unchanged", async () => {
    const author = uid('author');
    const post = await createPost(stack, author);
    const commenter = uid('commenter');
    const comment = await addComment(post.id, commenter, 'original');
    for (const who of [author, uid('stranger')]) {
      assertError(
        await stack.gql(EDIT, { id: comment.id, body: 'changed' }, { as: who }),
        'FORBIDDEN',
        who,
      );
    }
    assert.deepEqual(await readComment(comment.id), comment);
  });

  test('bad bodies are BAD_USER_INPUT; unknown ids NOT_FOUND; anonymous UNAUTHENTICATED', async () => {
    const post = await createPost(stack, uid('author'));
    const commenter = uid('commenter');
    const comment = await addComment(post.id, commenter, 'keep me');
    for (const body of ['', '   ', 'q'.repeat(2_201)]) {
      assertError(
        await stack.gql(EDIT, { id: comment.id, body }, { as: commenter }),
        'BAD_USER_INPUT',
        `body of ${body.length}`,
      );
    }
    for (const id of [unknownPostId(), 'nope', '']) {
      assertError(
        await stack.gql(EDIT, { id, body: 'x' }, { as: commenter }),
        'NOT_FOUND',
        `editComment("${id}")`,
      );
    }
    assertError(await stack.gql(EDIT, { id: comment.id, body: 'x' }), 'UNAUTHENTICATED');
    assert.deepEqual(await readComment(comment.id), comment);
  });
});

describe('deleteComment', () => {
  test("the comment's author deletes it: gone from the list, the count and comment(id)", async () => {
    const post = await createPost(stack, uid('author'));
    const commenter = uid('commenter');
    const keep = await addComment(post.id, commenter, 'keep');
    const doomed = await addComment(post.id, commenter, 'doomed');
    const data: any = ok(await stack.gql(DELETE, { id: doomed.id }, { as: commenter }));
    assert.equal(data.deleteComment, doomed.id);
    assert.equal(await readComment(doomed.id), null);
    assert.deepEqual((await allComments(post.id)).ids, [keep.id]);
    assert.equal(await commentCount(post.id), 1);
    // Twice: NOT_FOUND, and editing it too.
    assertError(await stack.gql(DELETE, { id: doomed.id }, { as: commenter }), 'NOT_FOUND');
    assertError(
      await stack.gql(EDIT, { id: doomed.id, body: 'back' }, { as: commenter }),
      'NOT_FOUND',
    );
    assert.equal(await commentCount(post.id), 1);
  });

  test("the post's author may delete anyone's comment on it", async () => {
    const author = uid('author');
    const post = await createPost(stack, author);
    const comment = await addComment(post.id, uid('troll'), 'spam spam spam');
    const data: any = ok(await stack.gql(DELETE, { id: comment.id }, { as: author }));
    assert.equal(data.deleteComment, comment.id);
    assert.equal(await readComment(comment.id), null);
    assert.equal(await commentCount(post.id), 0);
  });

  test('a third user gets FORBIDDEN, and the author of another post too', async () => {
    const author = uid('author');
    const post = await createPost(stack, author);
    const otherAuthor = uid('other-author');
    await createPost(stack, otherAuthor);
    const comment = await addComment(post.id, uid('commenter'));
    for (const who of [uid('stranger'), otherAuthor]) {
      assertError(await stack.gql(DELETE, { id: comment.id }, { as: who }), 'FORBIDDEN', who);
    }
    assert.deepEqual(await readComment(comment.id), comment);
    assert.equal(await commentCount(post.id), 1);
  });

  test('unknown and malformed ids are NOT_FOUND; anonymous is UNAUTHENTICATED', async () => {
    const someone = uid('someone');
    for (const id of [unknownPostId(), 'nope', '']) {
      assertError(
        await stack.gql(DELETE, { id }, { as: someone }),
        'NOT_FOUND',
        `deleteComment("${id}")`,
      );
    }
    const post = await createPost(stack, uid('author'));
    const comment = await addComment(post.id, uid('commenter'));
    assertError(await stack.gql(DELETE, { id: comment.id }), 'UNAUTHENTICATED');
    assert.notEqual(await readComment(comment.id), null);
  });

  test('concurrent deletes of one comment: one succeeds, the rest NOT_FOUND, the count drops once', async () => {
    const post = await createPost(stack, uid('author'));
    const commenter = uid('commenter');
    await addComment(post.id, commenter, 'stays');
    const comment = await addComment(post.id, commenter, 'goes');
    const results = await Promise.all(
      Array.from({ length: 10 }, () => stack.gql(DELETE, { id: comment.id }, { as: commenter })),
    );
    const succeeded = results.filter((result) => !result.errors?.length);
    assert.equal(succeeded.length, 1, 'not exactly one delete succeeded');
    for (const result of results.filter((r) => r.errors?.length)) assertError(result, 'NOT_FOUND');
    assert.equal(await commentCount(post.id), 1);
  });
});

describe("a post's first comments, kept with its count", () => {
  const PAGE = `query($p: ID!, $first: Int!) { post(id: $p) { comments(first: $first) {
    edges { cursor node { id body editedAt author { id username } } }
    pageInfo { hasNextPage endCursor }
  } } }`;

  /** The feed's preview, and how many commands it sent to the comments collection. */
  async function preview(postId: string) {
    const { result, commands } = await stack.recordQuery(() =>
      stack.gql(PAGE, { p: postId, first: 2 }),
    );
    const reads = commands.filter(
      (command) =>
        command.databaseName.endsWith('_comments') &&
        command.command[command.commandName] === 'comments',
    ).length;
    return { page: (ok(result) as any).post.comments, reads };
  }

  /** What a longer page (always read from the comments themselves) says the preview must be. */
  async function expectedPreview(postId: string) {
    const page = (ok(await stack.gql(PAGE, { p: postId, first: 10 })) as any).post.comments;
    const edges = page.edges.slice(0, 2);
    return {
      edges,
      pageInfo: { hasNextPage: page.edges.length > 2, endCursor: edges.at(-1)?.cursor ?? null },
    };
  }

  test('the preview follows every add, edit and delete, and costs no query of its own', async () => {
    const post = await createPost(stack, uid('author'));
    const commenter = uid('commenter');
    const check = async (bodies: string[], what: string) => {
      const { page, reads } = await preview(post.id);
      assert.deepEqual(page, await expectedPreview(post.id), what);
      assert.deepEqual(
        page.edges.map((edge: any) => edge.node.body),
        bodies,
        what,
      );
      assert.equal(reads, 0, `${what}: the preview queried the comments`);
    };
    await check([], 'no comments');
    const first = await addComment(post.id, commenter, 'first');
    await check(['first'], 'one comment');
    const second = await addComment(post.id, commenter, 'second');
    await addComment(post.id, commenter, 'third');
    await check(['first', 'second'], 'three comments');
    ok(await stack.gql(EDIT, { id: first.id, body: 'first, edited' }, { as: commenter }));
    await check(['first, edited', 'second'], 'the first comment edited');
    ok(await stack.gql(DELETE, { id: second.id }, { as: commenter }));
    await check(['first, edited', 'third'], 'the second comment deleted');
    ok(await stack.gql(DELETE, { id: first.id }, { as: commenter }));
    await check(['third'], 'the first comment deleted');
  });

  test('a counter written before it kept comments: the preview reads them, the same', async () => {
    const post = await createPost(stack, uid('author'));
    const commenter = uid('commenter');
    for (const body of ['a', 'b', 'c']) await addComment(post.id, commenter, body);
    const kept = await preview(post.id);
    await stack.mongo
      .db(`${stack.dbPrefix}_comments`)
      .collection('comment_counts')
      .updateOne(
        { shard: shardOfId(post.id), _id: post.id as never },
        { $unset: { commentHead: true } },
      );
    await stack.flushCache();
    const read = await preview(post.id);
    assert.deepEqual(read.page, kept.page);
    assert.equal(read.reads, 1);
    assert.equal(kept.reads, 0);
  });
});

describe('comment(id) and federation', () => {
  test("a comment keeps its author's username: its page needs no trip to the feed subgraph", async () => {
    const post = await createPost(stack, uid('author'));
    const named = uid('named');
    await usersStore(stack.mongo.db(`${stack.dbPrefix}_feed`), stack.cache).ensure(named, named);
    const nameless = uid('nameless');
    const kept = await addComment(post.id, named);
    const none = await addComment(post.id, nameless);
    const stored = stack.mongo.db(`${stack.dbPrefix}_comments`).collection<CommentDoc>('comments');
    const doc = (id: string) => stored.findOne({ shard: shardOfId(id), _id: id });
    assert.equal((await doc(kept.id))?.authorUsername, named);
    assert.equal((await doc(none.id))?.authorUsername, undefined);

    const AUTHORS = `query($a: ID!, $b: ID!) {
      a: comment(id: $a) { author { id username } }
      b: comment(id: $b) { author { id username } }
    }`;
    const feedFetches = () =>
      sample(stack.gatewayUrl, 'subgraph_fetch_duration_seconds_count', { subgraph: 'feed' });
    const fetchesBefore = await feedFetches();
    const expected = {
      a: { author: { id: named, username: named } },
      b: { author: { id: nameless, username: null } },
    };
    assert.deepEqual(ok(await stack.gql(AUTHORS, { a: kept.id, b: none.id })), expected);
    assert.equal(await feedFetches(), fetchesBefore, 'the gateway asked the feed subgraph');

    // A comment written before names were kept: the comments subgraph asks the feed subgraph.
    await stored.updateOne(
      { shard: shardOfId(kept.id), _id: kept.id },
      { $unset: { authorUsername: true } },
    );
    assert.deepEqual(ok(await stack.gql(AUTHORS, { a: kept.id, b: none.id })), expected);
    // Fields the comment does not keep still come from the feed subgraph, through the gateway.
    assert.deepEqual(
      ok(
        await stack.gql(
          `query($a: ID!) { comment(id: $a) { author { username followerCount } } }`,
          {
            a: kept.id,
          },
        ),
      ),
      { comment: { author: { username: named, followerCount: 0 } } },
    );
  });

  test('comment(id) is null for malformed and unknown ids', async () => {
    for (const id of [unknownPostId(), 'nope', '', 'x'.repeat(300)]) {
      assert.deepEqual(ok(await stack.gql(COMMENT, { id })), { comment: null }, `comment("${id}")`);
    }
  });

  test("a deleted post's comments go with it: comment(id) is null and they cannot be edited", async () => {
    const author = uid('author');
    const post = await createPost(stack, author, { caption: 'soon gone' });
    const commenter = uid('commenter');
    const comment = await addComment(post.id, commenter, 'orphan to be');
    ok(
      await stack.gql(
        `mutation($id: ID!) { deletePost(id: $id) }`,
        { id: post.id },
        { as: author },
      ),
    );

    // However it is asked for, the comment of a post that no longer exists is gone too: never a
    // comment pointing at a post that post(id) says does not exist, and never a phantom post
    // with a null caption. Cleaning up may happen asynchronously, so allow it a few seconds.
    const selections = ['id body', 'id body post { id }', 'id post { id caption }'];
    const deadline = Date.now() + 5_000;
    let answers: unknown[] = [];
    for (;;) {
      answers = await Promise.all(
        selections.map(async (selection) =>
          ok(
            await stack.gql(`query($id: ID!) { comment(id: $id) { ${selection} } }`, {
              id: comment.id,
            }),
          ),
        ),
      );
      if (
        answers.every((answer) => (answer as { comment: unknown }).comment === null) ||
        Date.now() > deadline
      )
        break;
      await sleep(100);
    }
    selections.forEach((selection, index) => {
      assert.deepEqual(
        answers[index],
        { comment: null },
        `comment(id) { ${selection} } of a deleted post`,
      );
    });
    assertError(
      await stack.gql(EDIT, { id: comment.id, body: 'still here?' }, { as: commenter }),
      'NOT_FOUND',
      'edit',
    );
  });

  test('a comment resolves its post from every subgraph in one query', async () => {
    const author = uid('author');
    const post = await createPost(stack, author, { caption: 'federated caption' });
    const [fan1, fan2, commenter] = [uid('fan'), uid('fan'), uid('commenter')];
    ok(
      await stack.gql(
        `mutation($p: ID!) { likePost(postId: $p) { id } }`,
        { p: post.id },
        { as: fan1 },
      ),
    );
    ok(
      await stack.gql(
        `mutation($p: ID!) { likePost(postId: $p) { id } }`,
        { p: post.id },
        { as: fan2 },
      ),
    );
    const comment = await addComment(post.id, commenter, 'hello');
    await addComment(post.id, fan1, 'second');

    const data: any = ok(
      await stack.gql(
        `query($id: ID!) {
          comment(id: $id) {
            id body
            author { id followerCount viewerFollows }
            post {
              id caption createdAt
              author { id followerCount }
              media { kind url }
              likeCount viewerHasLiked
              likes { edges { node { user { id } } } }
              commentCount
              comments(first: 1) { edges { node { id author { id } } } pageInfo { hasNextPage } }
            }
          }
        }`,
        { id: comment.id },
        { as: fan1 },
      ),
    );
    assert.deepEqual(data.comment, {
      id: comment.id,
      body: 'hello',
      author: { id: commenter, followerCount: 0, viewerFollows: false },
      post: {
        id: post.id,
        caption: 'federated caption',
        createdAt: post.createdAt,
        author: { id: author, followerCount: 0 },
        media: [{ kind: 'PHOTO', url: post.media[0]?.url }],
        likeCount: 2,
        viewerHasLiked: true,
        likes: { edges: [{ node: { user: { id: fan2 } } }, { node: { user: { id: fan1 } } }] },
        commentCount: 2,
        comments: {
          edges: [{ node: { id: comment.id, author: { id: commenter } } }],
          pageInfo: { hasNextPage: true },
        },
      },
    });
  });

  test('addComment can select fields of the other subgraphs in its payload', async () => {
    const author = uid('author');
    const post = await createPost(stack, author, { caption: 'payload' });
    const commenter = uid('commenter');
    const data: any = ok(
      await stack.gql(
        `mutation($p: ID!) { addComment(postId: $p, body: "  hey ") { body post { caption author { id } likeCount commentCount } } }`,
        { p: post.id },
        { as: commenter },
      ),
    );
    assert.deepEqual(data.addComment, {
      body: 'hey',
      post: { caption: 'payload', author: { id: author }, likeCount: 0, commentCount: 1 },
    });
  });
});

test("start-up drops the comments' superseded index, once, and keeps the one serving counts and pages", async () => {
  const db = stack.mongo.db(`${stack.dbPrefix}_comments`);
  await assertSupersededIndexDropped(
    db.collection('comments'),
    { key: { shard: 1, postId: 1, _id: 1 }, name: 'shard_1_postId_1__id_1' },
    'shard_1_postId_1_deleted_1__id_1',
    () => commentsStores(db, stack.cache, async () => true).ensureIndexes(),
  );
});
