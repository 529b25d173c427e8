import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { CommandStartedEvent } from 'mongodb';
import { feedStores } from '../../subgraphs/feed/stores.js';
import { shardKeyViolations } from '../helpers/shard-keys.js';
import { ok, startStack, type TestStack } from '../helpers/stack.js';
import { assertOrdered, inBatches } from './support.js';

const FEED_QUERY = `query Feed($first: Int!) {
  feed(first: $first) {
    edges { node {
      id caption
      author { id username followerCount viewerFollows }
      likeCount viewerHasLiked commentCount
      comments(first: 2) { edges { node { id body author { id } } } }
    } }
    pageInfo { hasNextPage endCursor }
  }
}`;

const CREATE_POST = `mutation($caption: String) {
  createPost(input: { caption: $caption, media: [{ kind: PHOTO, url: "https://cdn.example.com/p.jpg" }] }) { id }
}`;

/**
 * A feed page, once the viewer's timeline exists, however many posts it spans, for a viewer who
 * follows up to `followsReadInFull` accounts (one more command for one who follows more).
 */
const FEED_COMMANDS = 7;
/** The same page with the cache warm: the timeline, and what depends on the viewer. */
const WARM_FEED_COMMANDS = ['aggregate feed.timelines', 'find feed.follows', 'find likes.likes'];

function summary(commands: CommandStartedEvent[]): string[] {
  return commands.map(
    (c) => `${c.commandName} ${c.databaseName.split('_')[1]}.${String(c.command[c.commandName])}`,
  );
}

describe('database discipline', () => {
  let stack: TestStack;
  const run = randomBytes(3).toString('hex');
  const viewer = `viewer-${run}`;
  const authors = Array.from({ length: 10 }, (_, i) => `author-${run}-${i}`);
  const like = (postId: string, as: string) =>
    stack.gql('mutation($id: ID!) { likePost(postId: $id) { id } }', { id: postId }, { as });
  const comment = (postId: string, body: string, as: string) =>
    stack.gql(
      'mutation($id: ID!, $b: String!) { addComment(postId: $id, body: $b) { id } }',
      { id: postId, b: body },
      { as },
    );

  before(async () => {
    stack = await startStack();
    for (const author of authors) {
      for (let p = 0; p < 6; p++) {
        const { createPost } = ok(
          await stack.gql(CREATE_POST, { caption: `${author} #${p}` }, { as: author }),
        );
        const postId = createPost.id as string;
        // Every post gets likes and at least three comments, so each per-parent field has rows.
        await Promise.all(authors.slice(0, 3).map((liker) => like(postId, liker)));
        for (let c = 0; c < 3; c++) ok(await comment(postId, `c${c}`, authors[c] as string));
      }
      ok(
        await stack.gql(
          'mutation($id: ID!) { followUser(userId: $id) { id } }',
          { id: author },
          { as: viewer },
        ),
      );
    }
  });

  after(() => stack.stop());

  test('the feed query costs the same number of database commands for 5 posts as for 50', async () => {
    // The first read builds the viewer's timeline from history; every later read only reads it.
    const first = await stack.recordQuery(() =>
      stack.gql(FEED_QUERY, { first: 5 }, { as: viewer }),
    );
    assert.ok(
      summary(first.commands).includes('update feed.timelines'),
      'the first read did not build the timeline',
    );
    // Cold: nothing cached, every collection read once.
    await stack.flushCache();
    const small = await stack.recordQuery(() =>
      stack.gql(FEED_QUERY, { first: 5 }, { as: viewer }),
    );
    await stack.flushCache();
    const large = await stack.recordQuery(() =>
      stack.gql(FEED_QUERY, { first: 50 }, { as: viewer }),
    );
    const smallFeed = ok(small.result).feed;
    const largeFeed = ok(large.result).feed;
    assert.equal(smallFeed.edges.length, 5);
    assert.equal(largeFeed.edges.length, 50);
    for (const edge of largeFeed.edges) {
      assert.equal(edge.node.likeCount, 3);
      assert.equal(edge.node.commentCount, 3);
      assert.equal(edge.node.comments.edges.length, 2);
      assert.equal(edge.node.author.viewerFollows, true);
    }
    assert.ok(small.commands.length > 0);
    assert.deepEqual(summary(large.commands).sort(), summary(small.commands).sort());
    // One round trip per collection read: timeline, follows (which also answers viewerFollows),
    // posts, users, like counts, viewer's likes, comment counts (which carry each post's first
    // comments).
    assert.equal(large.commands.length, FEED_COMMANDS, summary(large.commands).join('\n'));

    // Warm: posts, authors and counts come from Redis; what is the viewer's own stays.
    const warm = await stack.recordQuery(() =>
      stack.gql(FEED_QUERY, { first: 50 }, { as: viewer }),
    );
    assert.deepEqual(ok(warm.result).feed, largeFeed);
    assert.deepEqual(summary(warm.commands).sort(), WARM_FEED_COMMANDS);
  });

  test('a viewer who follows 1,000 accounts reads a page of follows, not 1,000, in one more command', async () => {
    const many = `many-${run}`;
    const followed = Array.from({ length: 1_000 }, (_, i) => `followed-${run}-${i}`);
    // Written straight through the stores: the reads under test go through the gateway.
    const stores = feedStores(stack.mongo.db(`${stack.dbPrefix}_feed`), {
      timelineLength: 800,
      timelineMaxAgeDays: 7,
      cache: stack.cache,
      announceFollow: async () => true,
    });
    await stores.users.ensure(many);
    await inBatches(followed, 25, async (id) => {
      await stores.users.ensure(id);
      await stores.follows.follow(many, id);
      await stores.posts.create(id, `post of ${id}`, []);
    });
    ok(await stack.gql(FEED_QUERY, { first: 20 }, { as: many })); // builds the timeline
    await stack.flushCache();
    const { result, commands } = await stack.recordQuery(() =>
      stack.gql(FEED_QUERY, { first: 20 }, { as: many }),
    );
    const edges = ok(result).feed.edges as {
      node: { id: string; author: { id: string; viewerFollows: boolean } };
    }[];
    assert.equal(edges.length, 20);
    assertOrdered(
      edges.map((edge) => edge.node.id),
      'desc',
      'the feed of 1,000 followed accounts',
    );
    for (const edge of edges) {
      assert.ok(followed.includes(edge.node.author.id));
      assert.equal(edge.node.author.viewerFollows, true);
    }
    // The first 101 edges show the list is long; then one read asks about the window's authors
    // (twice the page), instead of the whole list.
    const followReads = commands.filter((c) => summary([c])[0] === 'find feed.follows');
    assert.deepEqual(
      followReads.map((c) => c.command.limit ?? c.command.filter.followeeId.$in.length),
      [101, 42],
    );
    assert.equal(commands.length, FEED_COMMANDS + 1, summary(commands).join('\n'));
  });

  test("one post's page of likes or comments is an index walk that stops after the page", async () => {
    const { createPost } = ok(await stack.gql(CREATE_POST, { caption: 'walked' }, { as: viewer }));
    const id = createPost.id as string;
    for (const [n, author] of authors.slice(0, 5).entries()) {
      ok(await like(id, author));
      ok(await comment(id, `walk ${n}`, author));
    }
    const { result, commands } = await stack.recordQuery(() =>
      stack.gql(
        `query($id: ID!) { post(id: $id) {
          likes(first: 3) { edges { node { user { id } } } pageInfo { hasNextPage } }
          comments(first: 3) { edges { node { body } } pageInfo { hasNextPage } }
        } }`,
        { id },
      ),
    );
    const { likes, comments } = ok(result).post;
    assert.deepEqual(
      likes.edges.map((edge: any) => edge.node.user.id),
      authors.slice(2, 5).reverse(),
    );
    assert.deepEqual(
      comments.edges.map((edge: any) => edge.node.body),
      ['walk 0', 'walk 1', 'walk 2'],
    );
    assert.equal(likes.pageInfo.hasNextPage, true);
    assert.equal(comments.pageInfo.hasNextPage, true);
    // A group over the post's rows would read all of them, however many; a sorted, limited find
    // stops after the page plus one.
    for (const collection of ['likes.likes', 'comments.comments']) {
      const reads = commands.filter((c) => summary([c])[0]?.endsWith(` ${collection}`));
      assert.deepEqual(summary(reads), [`find ${collection}`], summary(commands).join('\n'));
      assert.equal(reads[0]?.command.limit, 4);
    }
  });

  test('every count counts over an index holding all of its conditions, so no row is read', async () => {
    const { createPost } = ok(await stack.gql(CREATE_POST, { caption: 'counted' }, { as: viewer }));
    const id = createPost.id as string;
    const { commands } = await stack.record(async () => {
      ok(await like(id, authors[0] as string));
      ok(await comment(id, 'counted', authors[0] as string));
      ok(
        await stack.gql(
          'mutation($id: ID!) { followUser(userId: $id) { id followerCount } }',
          { id: viewer },
          { as: authors[1] as string },
        ),
      );
    });
    // countDocuments sends an aggregate of a $match and a $group summing 1.
    const counts = commands.filter((c) => {
      const pipeline = c.command.pipeline as Record<string, any>[] | undefined;
      return c.commandName === 'aggregate' && pipeline?.[1]?.$group?.n?.$sum === 1;
    });
    const counted = counts.map(
      (c) => `${c.databaseName.split('_')[1]}.${String(c.command.aggregate)}`,
    );
    for (const expected of ['likes.likes', 'comments.comments', 'feed.followers']) {
      assert.ok(counted.includes(expected), `no count of ${expected} in ${counted.join(', ')}`);
    }
    for (const count of counts) {
      const fields = Object.keys((count.command.pipeline as Record<string, any>[])[0]?.$match);
      const indexes = await stack.mongo
        .db(count.databaseName)
        .collection(String(count.command.aggregate))
        .indexes();
      // On MongoDB such a count is a COUNT_SCAN; the embedded server answers one of equalities,
      // and at most a number range after them, from the index too.
      const covering = indexes.filter((index) => {
        const prefix = Object.keys(index.key).slice(0, fields.length);
        return fields.every((field) => prefix.includes(field)) && !index.sparse;
      });
      assert.ok(
        covering.length > 0,
        `count of ${String(count.command.aggregate)} on ${fields.join(', ')}: no index covers it`,
      );
    }
  });

  test("a like's answer reads neither the count nor the viewer's like back: the write knows both", async () => {
    const postId = await (async () => {
      const { createPost } = ok(await stack.gql(CREATE_POST, { caption: 'z' }, { as: viewer }));
      return createPost.id as string;
    })();
    for (const [mutation, liked] of [
      ['likePost', true],
      ['unlikePost', false],
    ] as const) {
      const { result, commands } = await stack.recordQuery(() =>
        stack.gql(
          `mutation($id: ID!) { ${mutation}(postId: $id) { likeCount viewerHasLiked } }`,
          { id: postId },
          { as: authors[5] },
        ),
      );
      assert.deepEqual(ok(result)[mutation], { likeCount: liked ? 1 : 0, viewerHasLiked: liked });
      // The write's own recount (an aggregate) is the count; nothing is found again after it.
      const reads = summary(commands).filter((c) => c.startsWith('find likes.'));
      assert.deepEqual(reads, [], summary(commands).join('\n'));
    }
  });

  test('every command of a full scenario carries its shard key', async () => {
    const other = `other-${run}`;
    const { commands } = await stack.record(async () => {
      const { createPost } = ok(await stack.gql(CREATE_POST, { caption: 'x' }, { as: other }));
      const id = createPost.id as string;
      ok(
        await stack.gql(
          'mutation($id: ID!) { updatePost(id: $id, caption: "y") { id } }',
          { id },
          { as: other },
        ),
      );
      ok(
        await stack.gql(
          'mutation($id: ID!) { likePost(postId: $id) { likeCount } }',
          { id },
          { as: viewer },
        ),
      );
      ok(
        await stack.gql(
          'mutation($id: ID!) { unlikePost(postId: $id) { likeCount } }',
          { id },
          { as: viewer },
        ),
      );
      const { addComment } = ok(
        await stack.gql(
          'mutation($id: ID!) { addComment(postId: $id, body: "hi") { id } }',
          { id },
          { as: viewer },
        ),
      );
      ok(
        await stack.gql(
          'mutation($id: ID!) { editComment(id: $id, body: "hey") { id } }',
          { id: addComment.id },
          { as: viewer },
        ),
      );
      ok(
        await stack.gql('query($id: ID!) { comment(id: $id) { body post { caption } } }', {
          id: addComment.id,
        }),
      );
      ok(
        await stack.gql(
          'mutation($id: ID!) { deleteComment(id: $id) }',
          { id: addComment.id },
          { as: other },
        ),
      );
      ok(
        await stack.gql(
          'mutation($id: ID!) { followUser(userId: $id) { followerCount } }',
          { id: other },
          { as: viewer },
        ),
      );
      ok(
        await stack.gql(
          'mutation($id: ID!) { unfollowUser(userId: $id) { followerCount } }',
          { id: other },
          { as: viewer },
        ),
      );
      ok(
        await stack.gql(
          'query($id: ID!, $u: ID!) { post(id: $id) { author { posts(first: 3) { edges { node { id } } } } likes { edges { node { user { id } } } } comments { edges { node { id } } } } user(id: $u) { id } viewer { id } }',
          { id, u: other },
          { as: viewer },
        ),
      );
      ok(await stack.gql(FEED_QUERY, { first: 20 }, { as: viewer }));
      ok(await stack.gql('mutation($id: ID!) { deletePost(id: $id) }', { id }, { as: other }));
    });
    const kinds = new Set(commands.map((c) => c.commandName));
    for (const kind of ['find', 'aggregate', 'insert', 'update', 'delete', 'findAndModify']) {
      assert.ok(kinds.has(kind), `the scenario issues ${kind}`);
    }
    assert.deepEqual(shardKeyViolations(commands, stack.dbPrefix), []);
  });

  test('the shard-key check flags commands that would be broadcast', async () => {
    const { commands } = await stack.record(async () => {
      const posts = stack.mongo.db(`${stack.dbPrefix}_feed`).collection('posts');
      await posts.find({ authorId: viewer }).toArray();
      await posts.updateOne({ shard: 1 }, { $set: { caption: 'z' } });
    });
    const problems = shardKeyViolations(commands, stack.dbPrefix);
    assert.equal(problems.length, 2, problems.join('\n'));
    // Those two were deliberate: keep them out of the whole-run check in `stop`.
    stack.allCommands.splice(stack.allCommands.length - commands.length, commands.length);
  });
});
