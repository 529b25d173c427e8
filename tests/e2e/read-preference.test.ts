import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { CommandStartedEvent } from 'mongodb';
import { startMongo, type MongoServerHandle } from '../../scripts/stack/services.js';
import { ok, startStack, type TestStack } from '../helpers/stack.js';
import { createPost, uid } from './support.js';

const FEED = `query { feed(first: 5) { edges { node {
  id caption likeCount viewerHasLiked commentCount
  comments(first: 5) { edges { node { id body } } }
  likes(first: 2) { edges { node { createdAt } } }
} } } }`;

const STALE = { mode: 'secondaryPreferred', maxStalenessSeconds: 90 };
const WRITES = new Set(['insert', 'update', 'delete', 'findAndModify']);

const describeCommand = (c: CommandStartedEvent) =>
  `${c.commandName} ${c.databaseName.split('_')[1]}.${String(c.command[c.commandName])}`;

/**
 * Against a server that answers as a mongos, the driver sends every read's preference, so the
 * commands show where each read would go in a replicated deployment.
 */
describe('read and write routing', () => {
  let mongo: MongoServerHandle;
  let stack: TestStack;
  before(async () => {
    mongo = await startMongo({ backend: 'memory', asMongos: true });
    stack = await startStack({ mongoUri: mongo.uri.replace('directConnection=true', '') });
  });
  after(async () => {
    await stack.stop();
    await mongo.stop();
  });

  test('counts and pages read from secondaries; the viewer’s own state from the primary; writes wait for a majority’s journals', async () => {
    const viewer = uid('viewer');
    const author = uid('author');
    // Two posts in the feed: their pages of likes and comments are one grouped read each.
    await createPost(stack, author);
    const post = await createPost(stack, author);
    ok(
      await stack.gql(
        'mutation($id: ID!) { followUser(userId: $id) { id } }',
        { id: author },
        {
          as: viewer,
        },
      ),
    );
    const { commands: writes } = await stack.record(async () => {
      ok(
        await stack.gql(
          'mutation($id: ID!) { likePost(postId: $id) { id } }',
          { id: post.id },
          {
            as: viewer,
          },
        ),
      );
      ok(
        await stack.gql(
          'mutation($id: ID!) { addComment(postId: $id, body: "hi") { id } }',
          { id: post.id },
          { as: viewer },
        ),
      );
    });
    const written = writes.filter((c) => WRITES.has(c.commandName));
    assert.ok(written.length >= 4, writes.map(describeCommand).join('\n'));
    for (const command of written) {
      assert.deepEqual(command.command.writeConcern, { w: 'majority', j: true, wtimeout: 10_000 });
    }

    await stack.flushCache();
    const { commands } = await stack.record(async () => {
      ok(await stack.gql(FEED, {}, { as: viewer }));
    });
    const routed = new Map(
      commands.map((c) => [describeCommand(c), c.command.$readPreference as unknown]),
    );
    for (const stale of [
      'find likes.like_counts',
      'find comments.comment_counts',
      'aggregate comments.comments',
      'aggregate likes.likes',
    ]) {
      assert.deepEqual(routed.get(stale), STALE, `${stale}\n${[...routed.keys()].join('\n')}`);
    }
    for (const primary of ['aggregate feed.timelines', 'find likes.likes', 'find feed.posts']) {
      assert.ok(routed.has(primary), `${primary} not sent:\n${[...routed.keys()].join('\n')}`);
      assert.equal(routed.get(primary), undefined, `${primary} goes to the primary`);
    }

    // One post's pages are index walks (finds), from secondaries too.
    const { commands: pages } = await stack.record(async () => {
      ok(
        await stack.gql(
          `query($id: ID!) { post(id: $id) {
            comments(first: 5) { edges { node { id } } }
            likes(first: 5) { edges { node { createdAt } } }
          } }`,
          { id: post.id },
        ),
      );
    });
    const walks = pages.filter((c) => ['comments', 'likes'].includes(String(c.command.find)));
    assert.deepEqual(walks.map(describeCommand).sort(), [
      'find comments.comments',
      'find likes.likes',
    ]);
    for (const walk of walks) assert.deepEqual(walk.command.$readPreference, STALE);
  });
});
