import assert from 'node:assert/strict';
import { afterEach, beforeEach, mock, test } from 'node:test';
import type { LikeEvent } from '../../platform/events.js';
import { PostCountsHub, type CountsPush } from '../../gateway/subscriptions/post-counts.js';
import type { SharedSubscriptions } from '../../gateway/subscriptions/shared-subscriptions.js';

const INTERVAL_MS = 100;

/** A hub over an engine of our own: `like(n)` delivers an event with count n. */
function hub() {
  let onLike: ((event: LikeEvent) => void) | undefined;
  const shared = {
    acquire: async (topic: string, _postId: string, handler: (event: LikeEvent) => void) => {
      if (topic === 'likes') onLike = handler;
      return async () => undefined;
    },
  } as unknown as SharedSubscriptions;
  const counts = new PostCountsHub(
    shared,
    async (postIds) => new Map(postIds.map((id) => [id, { likeCount: 0, commentCount: 0 }])),
    INTERVAL_MS,
  );
  const like = (n: number) =>
    onLike?.({
      eventId: `e${n}`,
      type: 'post.liked',
      postId: 'p',
      actorId: `u${n}`,
      likeCount: n,
      likeSeq: n,
      occurredAt: new Date().toISOString(),
    });
  return { counts, like };
}

/** Each subscriber's pushes after the first (the current counts), with the mocked time of each. */
async function subscribe(counts: PostCountsHub, subscribers: number) {
  const received: { at: number; push: CountsPush }[][] = [];
  for (let i = 0; i < subscribers; i++) {
    const mine: { at: number; push: CountsPush }[] = [];
    received.push(mine);
    let initial = true;
    await counts.watch(['p'], (push) => {
      if (initial) initial = false;
      else mine.push({ at: Date.now(), push });
    });
  }
  return received;
}

beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 }));
afterEach(() => mock.timers.reset());

/** A like every 5 ms for `ms`, then quiet until every trailing push has gone. */
function storm(like: (n: number) => void, ms: number): number {
  let n = 0;
  for (let t = 0; t < ms; t += 5) {
    like(++n);
    mock.timers.tick(5);
  }
  mock.timers.tick(3 * INTERVAL_MS);
  return n;
}

test('a busy post with many subscribers pushes in groups, each at its own phase', async () => {
  const { counts, like } = hub();
  const received = await subscribe(counts, 450);
  const last = storm(like, 1_000);

  // Every subscriber ends with the last count, and never gets two pushes within an interval.
  for (const mine of received) {
    assert.equal(mine.at(-1)?.push.likeCount, last);
    for (let i = 1; i < mine.length; i++) {
      assert.ok((mine[i]?.at ?? 0) - (mine[i - 1]?.at ?? 0) >= INTERVAL_MS);
    }
  }
  // The first change after the quiet spell goes to everyone at once...
  const firstAt = new Set(received.map((mine) => mine[0]?.at));
  assert.equal(firstAt.size, 1);
  // ...the later ones in three groups (at most 200 each), pushed at different moments.
  const secondAt = new Map<number, number>();
  for (const mine of received) {
    const at = mine[1]?.at ?? -1;
    secondAt.set(at, (secondAt.get(at) ?? 0) + 1);
  }
  assert.equal(secondAt.size, 3);
  assert.ok([...secondAt.values()].every((size) => size <= 200));
});

test('a post with few subscribers pushes to all of them together', async () => {
  const { counts, like } = hub();
  const received = await subscribe(counts, 50);
  const last = storm(like, 500);
  for (const mine of received) assert.equal(mine.at(-1)?.push.likeCount, last);
  const times = received.map((mine) => mine.map((entry) => entry.at).join(','));
  assert.equal(new Set(times).size, 1, 'every subscriber pushed at the same moments');
});
