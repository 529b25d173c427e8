import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { freePort, ensureRedis, type ServiceHandle } from '../../scripts/stack/services.js';
import { sample } from '../helpers/metrics.js';
import { ok, startStack, type TestStack } from '../helpers/stack.js';
import { until } from '../helpers/ws.js';
import { createPost, uid } from './support.js';

/** A Redis of this file's own, so that it can be stopped and started again on the same port. */
let redisUrl: string;
let redis: ServiceHandle;
let stack: TestStack;

before(async () => {
  redisUrl = `redis://127.0.0.1:${await freePort()}`;
  redis = await ensureRedis(redisUrl);
  stack = await startStack({ redisUrl, engine: 'nats' });
});

after(async () => {
  await stack?.stop();
  await redis?.stop();
});

const POST = `query Post($id: ID!) {
  post(id: $id) { id caption likeCount commentCount viewerHasLiked author { id followerCount } }
}`;

async function readPost(id: string, as?: string) {
  return ok(await stack.gql(POST, { id }, as ? { as } : {})).post;
}

/** Post lookups that went to MongoDB because Redis failed or was known to be away. */
const unavailable = async () =>
  (await sample(stack.urls.feed, 'cache_requests_total', { cache: 'post', outcome: 'error' })) +
  (await sample(stack.urls.feed, 'cache_requests_total', { cache: 'post', outcome: 'skipped' }));

const hits = (service: 'feed' | 'likes' | 'comments', cache: string) =>
  sample(stack.urls[service], 'cache_requests_total', { cache, outcome: 'hit' });

describe('the Redis cache', () => {
  test('serves repeated reads, and every write is visible to the next read', async () => {
    const [author, fan] = [uid('author'), uid('fan')];
    const post = await createPost(stack, author, { caption: 'first' });
    const before = {
      post: await hits('feed', 'post'),
      likes: await hits('likes', 'likeCount'),
      comments: await hits('comments', 'commentCount'),
    };
    await readPost(post.id);
    assert.equal((await readPost(post.id)).caption, 'first');
    assert.ok((await hits('feed', 'post')) > before.post, 'posts are not read from the cache');
    assert.ok((await hits('likes', 'likeCount')) > before.likes, 'like counts are not cached');
    assert.ok((await hits('comments', 'commentCount')) > before.comments);

    ok(
      await stack.gql(
        'mutation($id: ID!) { updatePost(id: $id, caption: "second") { id } }',
        { id: post.id },
        { as: author },
      ),
    );
    assert.equal((await readPost(post.id)).caption, 'second');

    ok(
      await stack.gql(
        'mutation($id: ID!) { likePost(postId: $id) { id } }',
        { id: post.id },
        { as: fan },
      ),
    );
    assert.equal((await readPost(post.id)).likeCount, 1);
    ok(
      await stack.gql(
        'mutation($id: ID!) { unlikePost(postId: $id) { id } }',
        { id: post.id },
        { as: fan },
      ),
    );
    assert.equal((await readPost(post.id)).likeCount, 0);

    ok(
      await stack.gql(
        'mutation($id: ID!) { addComment(postId: $id, body: "hi") { id } }',
        { id: post.id },
        { as: fan },
      ),
    );
    assert.equal((await readPost(post.id)).commentCount, 1);

    ok(
      await stack.gql(
        'mutation($u: ID!) { followUser(userId: $u) { id } }',
        { u: author },
        { as: fan },
      ),
    );
    assert.equal((await readPost(post.id)).author.followerCount, 1);

    ok(
      await stack.gql(
        'mutation($id: ID!) { deletePost(id: $id) }',
        { id: post.id },
        { as: author },
      ),
    );
    assert.equal(ok(await stack.gql(POST, { id: post.id })).post, null);
  });

  test('with Redis stopped, reads and writes still succeed from MongoDB; once back, it is used again', async () => {
    const [author, fan] = [uid('author'), uid('fan')];
    const post = await createPost(stack, author, { caption: 'before' });
    await readPost(post.id);
    await redis.stop();
    const unavailableBefore = await unavailable();

    ok(
      await stack.gql(
        'mutation($id: ID!) { updatePost(id: $id, caption: "during") { id } }',
        { id: post.id },
        { as: author },
      ),
    );
    ok(
      await stack.gql(
        'mutation($id: ID!) { likePost(postId: $id) { id } }',
        { id: post.id },
        { as: fan },
      ),
    );
    const during = await readPost(post.id, fan);
    assert.equal(during.caption, 'during');
    assert.equal(during.likeCount, 1);
    assert.equal(during.viewerHasLiked, true);
    assert.ok((await unavailable()) > unavailableBefore, 'reads without Redis are not counted');

    redis = await ensureRedis(redisUrl);
    const hitsBefore = await hits('feed', 'post');
    // ioredis reconnects on its own schedule; the cache is back when reads hit it again.
    await until(
      'the cache to be used again after Redis came back',
      async () => (await hits('feed', 'post')) > hitsBefore,
      10_000,
      async () => {
        const again = await readPost(post.id, fan);
        assert.equal(again.caption, 'during');
        assert.equal(again.likeCount, 1);
      },
    );
  });
});
