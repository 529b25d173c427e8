import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { shardOfId } from '../../platform/ids.js';
import { databaseName } from '../../platform/mongo.js';
import { ok, startStack, type TestStack } from '../helpers/stack.js';
import { until } from '../helpers/ws.js';
import { createPost, uid } from './support.js';

const REPAIR_INTERVAL_MS = 1_000;

/** Rows of a post: by its id (the post, its counters) or by `postId` (its likes and comments). */
type Row = { shard: number } & (
  { _id: string; postId?: string } | { _id?: string; postId: string }
);

const READ_POST = `query($id: ID!) { post(id: $id) { id caption likeCount commentCount } }`;
const ADD_COMMENT = `mutation($id: ID!, $body: String!) {
  addComment(postId: $id, body: $body) { id post { id commentCount } }
}`;
const LIKE = `mutation($id: ID!) { likePost(postId: $id) { id likeCount } }`;

/**
 * A backup put back, or a database restarted from an older state: the cache holds versions the
 * database no longer has, and must not keep serving them.
 */
describe('the cache never outlives the database', () => {
  let stack: TestStack;
  before(async () => {
    stack = await startStack({ repairIntervalMs: REPAIR_INTERVAL_MS });
  });
  after(() => stack.stop());

  const collection = (subgraph: string, name: string) =>
    stack.mongo.db(databaseName(stack.dbPrefix, subgraph)).collection<Row>(name);

  /** Every document of the post in these collections, to put back later. */
  async function snapshot(postId: string) {
    const shard = shardOfId(postId);
    const tables: [string, string, Row][] = [
      ['feed', 'posts', { shard, _id: postId }],
      ['comments', 'comments', { shard, postId }],
      ['comments', 'comment_counts', { shard, _id: postId }],
      ['likes', 'likes', { shard, postId }],
      ['likes', 'like_counts', { shard, _id: postId }],
    ];
    const rows = await Promise.all(
      tables.map(async ([subgraph, name, filter]) => ({
        subgraph,
        name,
        filter,
        docs: await collection(subgraph, name).find(filter).toArray(),
      })),
    );
    return async function restore() {
      for (const { subgraph, name, filter, docs } of rows) {
        await collection(subgraph, name).deleteMany(filter);
        if (docs.length > 0) await collection(subgraph, name).insertMany(docs);
      }
    };
  }

  test('a restore: counts and posts fall back within a repair interval, and mutations answer from the database', async () => {
    const author = uid('author');
    const post = await createPost(stack, author, { caption: 'before the backup' });
    for (const body of ['one', 'two']) {
      ok(await stack.gql(ADD_COMMENT, { id: post.id, body }, { as: uid('c') }));
    }
    ok(await stack.gql(LIKE, { id: post.id }, { as: uid('fan') }));
    const restore = await snapshot(post.id);

    // After the backup: five more comments, two more likes, a new caption, all cached.
    for (let i = 0; i < 5; i++) {
      ok(await stack.gql(ADD_COMMENT, { id: post.id, body: `later ${i}` }, { as: uid('c') }));
    }
    for (let i = 0; i < 2; i++) ok(await stack.gql(LIKE, { id: post.id }, { as: uid('fan') }));
    ok(
      await stack.gql(
        'mutation($id: ID!) { updatePost(id: $id, caption: "after the backup") { id } }',
        { id: post.id },
        { as: author },
      ),
    );
    const read = async () =>
      ok(await stack.gql(READ_POST, { id: post.id }, { as: author })).post as {
        caption: string;
        likeCount: number;
        commentCount: number;
      };
    assert.deepEqual(await read(), {
      id: post.id,
      caption: 'after the backup',
      likeCount: 3,
      commentCount: 7,
    });

    await restore();
    // A mutation answers with the database's count at once, even before the cache is repaired.
    const added = ok(await stack.gql(ADD_COMMENT, { id: post.id, body: 'three' }, { as: author }));
    assert.equal(added.addComment.post.commentCount, 3);
    const liked = ok(await stack.gql(LIKE, { id: post.id }, { as: uid('fan') }));
    assert.equal(liked.likePost.likeCount, 2);

    const started = Date.now();
    await until(
      'the cache to drop what the database no longer has',
      async () => {
        const now = await read();
        return now.caption === 'before the backup' && now.commentCount === 3 && now.likeCount === 2;
      },
      REPAIR_INTERVAL_MS * 3 + 5_000,
    );
    assert.ok(Date.now() - started < REPAIR_INTERVAL_MS * 3 + 5_000);
    // And it stays right: later writes count from the database's state, not the cache's.
    const again = ok(await stack.gql(ADD_COMMENT, { id: post.id, body: 'four' }, { as: author }));
    assert.equal(again.addComment.post.commentCount, 4);
    assert.equal((await read()).commentCount, 4);
  });
});
