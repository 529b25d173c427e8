import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { signDevToken } from '../../platform/auth.js';
import { sample } from '../helpers/metrics.js';
import { ok, startStack, type TestStack } from '../helpers/stack.js';
import { closeCodeFor, until, wsClient, type Received } from '../helpers/ws.js';
import { unboundedTokens } from './support.js';

const COUNTS = `subscription Counts($ids: [ID!]!) {
  postCountsChanged(postIds: $ids) { postId likeCount commentCount post { caption author { id } } }
}`;
const COMMENTS = `subscription Comments($id: ID!) {
  commentAdded(postId: $id) { id body author { id } post { caption likeCount } }
}`;
const LIKE = 'mutation($id: ID!) { likePost(postId: $id) { id } }';
const PUSHES_PER_SECOND = 4; // the stack's setting

const last = (received: Received) => received.results.at(-1)?.data;

for (const engine of ['nats', 'redis'] as const) {
  describe(`subscriptions over ${engine}`, () => {
    let stack: TestStack;
    const run = randomBytes(3).toString('hex');
    const author = `author-${run}`;
    let caption = 0;

    async function newPost(): Promise<string> {
      const data = ok(
        await stack.gql(
          'mutation($c: String) { createPost(input: { caption: $c, media: [{ kind: PHOTO, url: "https://cdn.example.com/a.jpg" }] }) { id } }',
          { c: `post ${++caption}` },
          { as: author },
        ),
      );
      return data.createPost.id;
    }

    before(async () => {
      stack = await startStack({ engine, gateways: 2 });
    });
    after(() => stack.stop());

    test('a post that does not exist, or was deleted, is a null post in postCounts and postCountsChanged', async () => {
      const [kept, deleted] = [await newPost(), await newPost()];
      ok(
        await stack.gql(
          'mutation($id: ID!) { deletePost(id: $id) }',
          { id: deleted },
          { as: author },
        ),
      );
      const unknown = '0000000000000000000000000';
      const counts = ok(
        await stack.gql(
          'query($ids: [ID!]!) { postCounts(postIds: $ids) { postId likeCount commentCount post { id caption } } }',
          { ids: [kept, deleted, unknown, 'alice'] },
        ),
      );
      assert.deepEqual(
        counts.postCounts.map((row: { post: unknown }) => row.post),
        [{ id: kept, caption: `post ${caption - 1}` }, null, null, null],
      );
      const client = wsClient(stack.gatewayUrl, await stack.token(`nulls-${run}`));
      const received = client.subscribe(COUNTS, { ids: [kept, deleted] });
      await until('the current counts', () => received.results.length === 2);
      const posts = new Map(
        received.results.map((result) => [
          result.data?.postCountsChanged.postId,
          result.data?.postCountsChanged.post,
        ]),
      );
      assert.deepEqual(posts.get(kept), { caption: `post ${caption - 1}`, author: { id: author } });
      assert.equal(posts.get(deleted), null);
      assert.equal(received.errors, undefined);
      await client.close();
    });

    test('a burst of 200 likes reaches a client on each of two gateway processes, coalesced, ending at the exact count', async () => {
      const postId = await newPost();
      const clients = [
        wsClient(stack.gateways[0]!.url, await stack.token(`watcher-a-${run}`)),
        wsClient((await stack.spawnGateway()).url, await stack.token(`watcher-b-${run}`)),
      ];
      const watching = clients.map((client) => client.subscribe(COUNTS, { ids: [postId] }));
      await until('the current counts', () =>
        watching.every((received) => received.results.length === 1),
      );
      for (const received of watching) {
        assert.deepEqual(last(received), {
          postCountsChanged: {
            postId,
            likeCount: 0,
            commentCount: 0,
            post: { caption: `post ${caption}`, author: { id: author } },
          },
        });
      }

      const started = Date.now();
      const likes: Promise<unknown>[] = [];
      for (let wave = 0; wave < 10; wave++) {
        for (let i = 0; i < 20; i++) {
          likes.push(
            stack.gql(LIKE, { id: postId }, { as: `fan-${run}-${wave * 20 + i}` }).then(ok),
          );
        }
        await delay(100);
      }
      await Promise.all(likes);
      const seconds = (Date.now() - started) / 1_000;
      await until('the final count', () =>
        watching.every((received) => last(received)?.postCountsChanged.likeCount === 200),
      );
      await delay(1_000); // anything still coming would show now

      const fresh = ok(
        await stack.gql('query($id: ID!) { post(id: $id) { likeCount } }', { id: postId }),
      );
      assert.equal(fresh.post.likeCount, 200);
      // The current counts, then at most one push per interval over the burst, plus the trailing one.
      const bound = 1 + Math.ceil((seconds + 1) * PUSHES_PER_SECOND) + 1;
      for (const received of watching) {
        assert.ok(received.results.length >= 2, 'at least one change was pushed');
        assert.ok(
          received.results.length <= bound,
          `${received.results.length} pushes, bound ${bound}`,
        );
        assert.equal(last(received)?.postCountsChanged.likeCount, fresh.post.likeCount);
        const counts = received.results.map(
          (result) => result.data?.postCountsChanged.likeCount as number,
        );
        assert.deepEqual(
          [...counts].sort((a, b) => a - b),
          counts,
          'counts never go back',
        );
      }
      await Promise.all(clients.map((client) => client.close()));
    });

    test('a client that connects later gets the current counts first', async () => {
      const postId = await newPost();
      await Promise.all(
        Array.from({ length: 5 }, (_, i) =>
          stack.gql(LIKE, { id: postId }, { as: `early-${run}-${i}` }).then(ok),
        ),
      );
      ok(
        await stack.gql(
          'mutation($id: ID!) { addComment(postId: $id, body: "first") { id } }',
          { id: postId },
          { as: author },
        ),
      );
      const client = wsClient(stack.gateways[1]!.url, await stack.token(`late-${run}`));
      const received = client.subscribe(COUNTS, { ids: [postId] });
      await until('the current counts', () => received.results.length === 1);
      assert.equal(last(received)?.postCountsChanged.likeCount, 5);
      assert.equal(last(received)?.postCountsChanged.commentCount, 1);
      await client.close();
    });

    test('commentAdded delivers every new comment once, in order, with fields of other subgraphs', async () => {
      const postId = await newPost();
      ok(await stack.gql(LIKE, { id: postId }, { as: `liker-${run}` }));
      const clients = [
        wsClient(stack.gateways[0]!.url, await stack.token(`reader-a-${run}`)),
        wsClient(stack.gateways[1]!.url, await stack.token(`reader-b-${run}`)),
      ];
      const watching = clients.map((client) => client.subscribe(COMMENTS, { id: postId }));
      // commentAdded sends nothing until a comment comes: warm up until both clients see one.
      const comment = (body: string, as: string) =>
        stack.gql(
          'mutation($id: ID!, $b: String!) { addComment(postId: $id, body: $b) { id } }',
          { id: postId, b: body },
          { as },
        );
      await until(
        'the subscriptions to deliver',
        () => watching.every((received) => received.results.length > 0),
        10_000,
        async () => {
          ok(await comment('warm-up', author));
        },
      );
      const sent: string[] = [];
      for (let i = 0; i < 10; i++) {
        sent.push(ok(await comment(`comment ${i}`, `commenter-${i % 3}-${run}`)).addComment.id);
      }
      const real = (received: Received) =>
        received.results
          .map((result) => result.data?.commentAdded)
          .filter((comment) => comment.body !== 'warm-up');
      await until('every comment', () => watching.every((received) => real(received).length >= 10));
      await delay(300);
      for (const received of watching) {
        assert.deepEqual(
          real(received).map((comment) => comment.id),
          sent,
        );
        assert.deepEqual(real(received)[3], {
          id: sent[3],
          body: 'comment 3',
          author: { id: `commenter-0-${run}` },
          post: { caption: `post ${caption}`, likeCount: 1 },
        });
      }
      await Promise.all(clients.map((client) => client.close()));
    });

    test('one engine subscription per post and topic in a gateway, whatever the clients, dropped when they leave', async () => {
      const postId = await newPost();
      const gateway = stack.gateways[0]!;
      const before = gateway.engineSubscriptions();
      const clients = await Promise.all(
        [1, 2, 3].map(async (i) => wsClient(gateway.url, await stack.token(`many-${run}-${i}`))),
      );
      const watching = clients.map((client) => client.subscribe(COUNTS, { ids: [postId] }));
      await until('the current counts', () =>
        watching.every((received) => received.results.length === 1),
      );
      assert.equal(gateway.engineSubscriptions(), before + 2, 'likes and comments of one post');

      // Three clients with one selection: the post's fields are fetched once per push, not thrice.
      // Posts are read through the cache, so reads are counted as cache lookups, hit or not.
      const postLookups = () => sample(stack.urls.feed, 'cache_requests_total', { cache: 'post' });
      const lookupsBefore = await postLookups();
      ok(await stack.gql(LIKE, { id: postId }, { as: `one-more-${run}` }));
      await until('the push', () => watching.every((received) => received.results.length === 2));
      assert.equal(
        (await postLookups()) - lookupsBefore,
        2,
        'one read for the like mutation, one for the push',
      );

      for (const received of watching) received.stop();
      await until('the engine subscriptions to go', () => gateway.engineSubscriptions() === before);
      await Promise.all(clients.map((client) => client.close()));
    });

    test('fields marked viewer-dependent in the SDL are fetched per viewer; the rest is shared', async () => {
      const postId = await newPost();
      const fan = `own-view-fan-${run}`;
      ok(await stack.gql(LIKE, { id: postId }, { as: fan }));
      const query = `subscription($ids: [ID!]!) {
        postCountsChanged(postIds: $ids) { likeCount post { caption viewerHasLiked } }
      }`;
      const clients = [
        wsClient(stack.gatewayUrl, await stack.token(fan)),
        wsClient(stack.gatewayUrl, await stack.token(`own-view-other-${run}`)),
      ];
      const watching = clients.map((client) => client.subscribe(query, { ids: [postId] }));
      await until('the current counts', () =>
        watching.every((received) => received.results.length === 1),
      );
      ok(await stack.gql(LIKE, { id: postId }, { as: `own-view-second-${run}` }));
      await until('the push', () =>
        watching.every((received) => last(received)?.postCountsChanged.likeCount === 2),
      );
      assert.deepEqual(
        watching.map((received) => last(received)?.postCountsChanged.post),
        [
          { caption: `post ${caption}`, viewerHasLiked: true },
          { caption: `post ${caption}`, viewerHasLiked: false },
        ],
      );
      await Promise.all(clients.map((client) => client.close()));
    });

    test('limits: 1 to 100 post ids, a malformed post id, subscriptions per connection', async () => {
      const client = wsClient(stack.gatewayUrl, await stack.token(`limits-${run}`));
      const postId = await newPost();
      const tooMany = client.subscribe(COUNTS, {
        ids: Array.from(
          { length: 101 },
          (_, i) => `${postId.slice(0, -3)}${String(i).padStart(3, '0')}`,
        ),
      });
      const none = client.subscribe(COUNTS, { ids: [] });
      const malformed = client.subscribe(COMMENTS, { id: 'not-a-post' });
      await until('the refusals', () =>
        [tooMany, none, malformed].every((received) => received.errors),
      );
      for (const received of [tooMany, none, malformed]) {
        assert.equal(received.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
      }
      const open = Array.from({ length: 10 }, () => client.subscribe(COUNTS, { ids: [postId] }));
      await until('ten subscriptions', () =>
        open.every((received) => received.results.length === 1),
      );
      const eleventh = client.subscribe(COUNTS, { ids: [postId] });
      await until('the eleventh refused', () => eleventh.errors !== undefined);
      assert.equal(eleventh.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
      assert.match(eleventh.errors?.[0]?.message ?? '', /At most 10 subscriptions/);
      open[0]!.stop();
      await delay(200);
      const again = client.subscribe(COUNTS, { ids: [postId] });
      await until('a freed slot used', () => again.results.length === 1);
      await client.close();
    });
  });
}

describe('subscription authentication', () => {
  let stack: TestStack;
  before(async () => {
    stack = await startStack();
  });
  after(() => stack.stop());

  test('a missing, malformed, forged or unbounded token closes the socket with 4401', async () => {
    const forged = await signDevToken('mallory', 'not-the-secret-0123456789abcdef0123456789');
    for (const payload of [
      undefined,
      {},
      { authorization: 'Bearer nope' },
      { authorization: `Bearer ${forged}` },
      { authorization: forged },
      ...(await unboundedTokens('mallory')).map((token) => ({ authorization: `Bearer ${token}` })),
    ]) {
      const { code, acked } = await closeCodeFor(stack.gatewayUrl, payload);
      assert.equal(code, 4401, JSON.stringify(payload));
      assert.equal(acked, false);
    }
  });

  test('a token that expires closes the socket with 4401 when it does', async () => {
    const token = await signDevToken('short-lived', undefined, Math.floor(Date.now() / 1_000) + 2);
    const started = Date.now();
    const { code, acked } = await closeCodeFor(stack.gatewayUrl, {
      authorization: `Bearer ${token}`,
    });
    assert.equal(acked, true);
    assert.equal(code, 4401);
    assert.ok(Date.now() - started >= 900, 'closed at expiry, not at once');
  });
});
