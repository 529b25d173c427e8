import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { newId, shardOfId, shardOfUser } from '../../platform/ids.js';
import { commentsStores } from '../../subgraphs/comments/stores.js';
import { feedStores } from '../../subgraphs/feed/stores.js';
import { likesStores } from '../../subgraphs/likes/stores.js';
import { ok, startStack, type TestStack } from '../helpers/stack.js';

/**
 * A request that dies between its write and its recount leaves the row unsynced. These tests
 * write such rows directly, as a crash would leave them, and check that the repair pass makes the
 * counts exact again.
 */
let stack: TestStack;
const run = randomBytes(3).toString('hex');
const author = `author-${run}`;
const anHourAgo = () => new Date(Date.now() - 3_600_000);
let postId: string;

before(async () => {
  stack = await startStack();
  const { createPost } = ok(
    await stack.gql(
      'mutation { createPost(input: { media: [{ kind: PHOTO, url: "https://cdn.example.com/a.jpg" }] }) { id } }',
      {},
      { as: author },
    ),
  );
  postId = createPost.id;
});

after(() => stack.stop());

const db = (name: string) => stack.mongo.db(`${stack.dbPrefix}_${name}`);

async function counts() {
  const data = ok(
    await stack.gql('query($id: ID!) { post(id: $id) { likeCount commentCount } }', { id: postId }),
  );
  return data.post as { likeCount: number; commentCount: number };
}

test('a like written but never counted is counted by the repair pass, once', async () => {
  ok(
    await stack.gql(
      'mutation($id: ID!) { likePost(postId: $id) { id } }',
      { id: postId },
      { as: 'liker-1' },
    ),
  );
  await db('likes')
    .collection('likes')
    .insertOne({
      _id: newId(shardOfId(postId)) as never,
      shard: shardOfId(postId),
      postId,
      userId: 'liker-crashed',
      active: true,
      version: 1,
      synced: false,
      likedAt: anHourAgo(),
      updatedAt: anHourAgo(),
    });
  assert.equal((await counts()).likeCount, 1);
  const stores = likesStores(db('likes'), stack.cache, async () => true);
  assert.equal(await stores.repair(60_000), 1);
  assert.equal((await counts()).likeCount, 2);
  assert.equal(await stores.repair(60_000), 0, 'nothing left to repair');
  assert.equal((await counts()).likeCount, 2, 'a second pass does not count twice');
});

test('an unlike that was never counted is uncounted and removed by the repair pass', async () => {
  await db('likes')
    .collection('likes')
    .updateOne(
      { shard: shardOfId(postId), postId, userId: 'liker-1' },
      { $set: { active: false, synced: false, updatedAt: anHourAgo() }, $inc: { version: 1 } },
    );
  assert.equal((await counts()).likeCount, 2);
  assert.equal(await likesStores(db('likes'), stack.cache, async () => true).repair(60_000), 1);
  assert.equal((await counts()).likeCount, 1);
  const left = await db('likes')
    .collection('likes')
    .countDocuments({ shard: shardOfId(postId), postId, userId: 'liker-1' });
  assert.equal(left, 0);
});

test('a comment written but never counted is counted by the repair pass', async () => {
  const now = anHourAgo();
  await db('comments')
    .collection('comments')
    .insertOne({
      _id: newId(shardOfId(postId)) as never,
      shard: shardOfId(postId),
      postId,
      postAuthorId: author,
      authorId: 'commenter',
      body: 'left behind',
      createdAt: now,
      editedAt: null,
      deleted: false,
      version: 1,
      synced: false,
      updatedAt: now,
    });
  assert.equal((await counts()).commentCount, 0);
  assert.equal(
    await commentsStores(db('comments'), stack.cache, async () => true).repair(60_000),
    1,
  );
  assert.equal((await counts()).commentCount, 1);
});

test('a follow whose mirror and counts were never written is finished by the repair pass', async () => {
  const follower = `follower-${run}`;
  await db('feed')
    .collection('follows')
    .insertOne({
      shard: shardOfUser(follower),
      followerId: follower,
      followeeId: author,
      active: true,
      version: 1,
      synced: false,
      createdAt: anHourAgo(),
      updatedAt: anHourAgo(),
    });
  const query = 'query($id: ID!) { user(id: $id) { followerCount } }';
  assert.equal(ok(await stack.gql(query, { id: author })).user.followerCount, 0);
  assert.equal(
    await feedStores(db('feed'), {
      timelineLength: 800,
      timelineMaxAgeDays: 7,
      cache: stack.cache,
      announceFollow: async () => true,
    }).follows.repair(60_000),
    1,
  );
  assert.equal(ok(await stack.gql(query, { id: author })).user.followerCount, 1);
  const feed = ok(await stack.gql('{ feed { edges { node { id } } } }', {}, { as: follower })).feed;
  assert.deepEqual(
    feed.edges.map((edge: { node: { id: string } }) => edge.node.id),
    [postId],
  );
});
