import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sample } from '../helpers/metrics.js';
import { ok, startStack, type TestStack } from '../helpers/stack.js';
import { shardOfId } from '../../platform/ids.js';
import { assertError, createPost, uid } from './support.js';

let stack: TestStack;

// Two writes in flight at most, so that a burst through the gateway is sure to exceed it.
before(async () => {
  stack = await startStack({ writesMaxInFlight: 2 });
});

after(async () => {
  await stack?.stop();
});

const LIKE = `mutation Like($p: ID!) { likePost(postId: $p) { id likeCount viewerHasLiked } }`;
const COUNT = `query Count($p: ID!) { post(id: $p) { likeCount } }`;
const COMMENT = `mutation Comment($p: ID!, $body: String!) { addComment(postId: $p, body: $body) { id } }`;
const COMMENTS = `query Comments($p: ID!) { post(id: $p) { commentCount comments(first: 100) { edges { node { body } } } } }`;

function likeRows(postId: string, userIds?: string[]): Promise<number> {
  return stack.mongo
    .db(`${stack.dbPrefix}_likes`)
    .collection('likes')
    .countDocuments({
      shard: shardOfId(postId),
      postId,
      ...(userIds ? { userId: { $in: userIds } } : {}),
    });
}

/**
 * Sixty writes by sixty new users at once, through the gateway, with the service's count of refused
 * writes before and after: which were shed (each checked as OVERLOADED with a retry hint) and kept.
 */
async function burst(
  service: 'likes' | 'comments',
  write: (fan: string) => ReturnType<TestStack['gql']>,
) {
  const fans = Array.from({ length: 60 }, () => uid('fan'));
  await Promise.all(fans.map((fan) => stack.token(fan)));
  const refusedBefore = await sample(stack.urls[service], 'writes_refused_total');
  const results = await Promise.all(fans.map(write));
  const shed = fans.filter((_fan, n) => results[n]?.errors);
  const kept = fans.filter((_fan, n) => !results[n]?.errors);
  assert.ok(shed.length > 0, `a burst of 60 ${service} writes over a bound of 2 shed none`);
  assert.ok(kept.length > 0, `the bound let no ${service} write through`);
  for (const [n, result] of results.entries()) {
    if (!result.errors) continue;
    assertError(result, 'OVERLOADED', `write by ${fans[n]}`);
    assert.equal((result.errors[0]?.extensions as { retryAfter?: unknown })?.retryAfter, 1);
  }
  const refused = (await sample(stack.urls[service], 'writes_refused_total')) - refusedBefore;
  assert.equal(refused, shed.length, 'writes_refused_total counts each refusal');
  return { results, shed, kept };
}

describe('write admission (likes and comments in flight per process)', () => {
  test('likes beyond the bound are OVERLOADED with a retry hint, and leave no row and no count', async () => {
    const post = await createPost(stack, uid('author'));
    const { results, shed, kept } = await burst('likes', (fan) =>
      stack.gql(LIKE, { p: post.id }, { as: fan }),
    );
    for (const result of results)
      if (result.errors) assert.equal((result.data as any)?.likePost ?? null, null);
    assert.equal(await likeRows(post.id, shed), 0, 'a shed like left a row');
    assert.equal(await likeRows(post.id), kept.length);
    const data: any = ok(await stack.gql(COUNT, { p: post.id }));
    assert.equal(data.post.likeCount, kept.length);
  });

  test('comments beyond the bound are OVERLOADED too, and leave no comment and no count', async () => {
    const post = await createPost(stack, uid('author'));
    const { kept } = await burst('comments', (fan) =>
      stack.gql(COMMENT, { p: post.id, body: `from ${fan}` }, { as: fan }),
    );
    const data: any = ok(await stack.gql(COMMENTS, { p: post.id }));
    assert.equal(data.post.commentCount, kept.length);
    assert.deepEqual(
      data.post.comments.edges.map((edge: any) => edge.node.body).sort(),
      kept.map((fan) => `from ${fan}`).sort(),
    );
  });

  test('likes one at a time, as normal traffic sends them, are never refused', async () => {
    const post = await createPost(stack, uid('author'));
    const fans = Array.from({ length: 10 }, () => uid('fan'));
    for (const [n, fan] of fans.entries()) {
      const data: any = ok(await stack.gql(LIKE, { p: post.id }, { as: fan }));
      assert.deepEqual(data.likePost, { id: post.id, likeCount: n + 1, viewerHasLiked: true });
    }
    assert.equal(await likeRows(post.id), fans.length);
  });
});
