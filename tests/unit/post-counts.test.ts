import assert from 'node:assert/strict';
import { mock, test, type TestContext } from 'node:test';
import type { LikeEvent, NotificationsEvent, Topics } from '../../platform/events.js';
import type { LiveTopic, PubSub } from '../../platform/pubsub.js';
import { PostCountsHub, type CountsPush } from '../../gateway/subscriptions/post-counts.js';
import { SharedSubscriptions } from '../../gateway/subscriptions/shared-subscriptions.js';
import { watchNotifications } from '../../gateway/subscriptions/notifications.js';

const INTERVAL_MS = 250;

/**
 * A hub over an in-memory engine; `like(post, count)` delivers a like event as the engine would.
 * It keeps time on the mocked wall clock, standing for its monotonic one, unless `monotonic`.
 */
function hub({ monotonic = false } = {}) {
  const handlers = new Map<string, (event: Topics[LiveTopic]) => void>();
  const pubsub: PubSub = {
    engine: 'nats',
    publish: async () => undefined,
    async subscribe(topic, key, handler) {
      handlers.set(`${topic}.${key}`, handler as (event: Topics[LiveTopic]) => void);
      return async () => void handlers.delete(`${topic}.${key}`);
    },
    connected: () => true,
    close: async () => undefined,
  };
  const counts = new PostCountsHub(
    new SharedSubscriptions(pubsub),
    async () => new Map(),
    INTERVAL_MS,
    monotonic ? undefined : () => Date.now(),
  );
  const like = (postId: string, likeCount: number) => {
    const event: LikeEvent = {
      eventId: `${postId}-${likeCount}`,
      type: 'post.liked',
      postId,
      actorId: 'u',
      likeCount,
      likeSeq: likeCount,
      occurredAt: new Date().toISOString(),
    };
    handlers.get(`likes.${postId}`)?.(event);
  };
  return { counts, like };
}

test('busy posts are pushed on one beat, each listener its posts in a row, at most once an interval each', async (t) => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_010 });
  t.after(() => mock.timers.reset());
  const { counts, like } = hub();
  const heard: string[] = [];
  const listener = (name: string) => (push: CountsPush) =>
    heard.push(`${name}:${push.postId}=${push.likeCount}`);
  const stopA = await counts.watch(['hot', 'calm'], listener('a'));
  const stopB = await counts.watch(['hot'], listener('b'));
  const stopC = await counts.watch(['calm'], listener('c'));
  heard.length = 0; // the current counts each watch starts with

  // After a quiet spell a change goes out at once, off the beat.
  like('hot', 1);
  like('calm', 1);
  assert.deepEqual(heard, ['a:hot=1', 'b:hot=1', 'a:calm=1', 'c:calm=1']);
  heard.length = 0;

  // Then both posts keep changing: nothing goes out until the beat at least half an interval on
  // (1,000,250 is only 240 ms after the first push, so it is that one).
  for (let ms = 0; ms < 230; ms += 10) {
    mock.timers.tick(10);
    like('hot', 2 + ms);
    like('calm', 2 + ms);
  }
  assert.deepEqual(heard, []);
  mock.timers.tick(10);
  // One push per post, the last counts, each listener's pushes one after the other.
  assert.deepEqual(heard, ['a:hot=222', 'a:calm=222', 'b:hot=222', 'c:calm=222']);
  heard.length = 0;

  // Still busy: the next beat, a whole interval on, carries the latest of each.
  like('hot', 500);
  like('calm', 400);
  mock.timers.tick(INTERVAL_MS - 1);
  assert.deepEqual(heard, []);
  mock.timers.tick(1);
  assert.deepEqual(heard, ['a:hot=500', 'a:calm=400', 'b:hot=500', 'c:calm=400']);

  await Promise.all([stopA(), stopB(), stopC()]);
});

/** One listener of post `p` on a hub whose mocked clocks start at `now`; what it heard. */
async function watchingP(t: TestContext, now: number) {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now });
  t.after(() => mock.timers.reset());
  const { counts, like } = hub();
  const heard: number[] = [];
  const stop = await counts.watch(['p'], (push) => heard.push(push.likeCount));
  return { heard, stop, like: (n: number) => like('p', n) };
}

test('a listener that leaves before its beat is not pushed to', async (t) => {
  const { heard, stop, like } = await watchingP(t, 2_000_000);
  like(1);
  like(2);
  assert.deepEqual(heard, [0, 1]);
  await stop();
  mock.timers.tick(INTERVAL_MS);
  assert.deepEqual(heard, [0, 1]);
});

test('a post whose beat is overdue (the event loop was held) is pushed at its next change', async (t) => {
  const { heard, stop, like } = await watchingP(t, 3_000_000);
  like(1);
  like(2); // waits for the beat at 3,000,250
  mock.timers.setTime(3_000_400); // a fan-out held the loop: the beat's timer has not run
  like(3);
  assert.deepEqual(heard, [0, 1, 3]);
  mock.timers.tick(1_000); // the late beat has nothing left to push
  assert.deepEqual(heard, [0, 1, 3]);
  await stop();
});

test('a step back of the wall clock holds no push', async (t) => {
  // Only the wall clock is mocked: the hub (its default clock) and the notification badge keep
  // time with a clock that goes forward.
  mock.timers.enable({ apis: ['Date'], now: Date.now() });
  t.after(() => mock.timers.reset());
  const { counts, like } = hub({ monotonic: true });
  const heard: number[] = [];
  const stop = await counts.watch(['p'], (push) => heard.push(push.likeCount));
  let notifyHandler: ((event: NotificationsEvent) => void) | undefined;
  const badge: number[] = [];
  const stopBadge = await watchNotifications({
    subscribe: async (handler) => {
      notifyHandler = handler;
      return async () => undefined;
    },
    current: async () => ({ unreadCount: 0, latestId: null }),
    minIntervalMs: INTERVAL_MS,
    push: (state) => badge.push(state.unreadCount),
  });
  const notify = (n: number) =>
    notifyHandler?.({
      eventId: `n${n}`,
      type: 'notifications.changed',
      recipientId: 'v',
      unreadCount: n,
      latestId: `n${n}`,
      occurredAt: new Date().toISOString(),
    });

  like('p', 1);
  notify(1);
  mock.timers.setTime(Date.now() - 3_600_000); // an hour back
  like('p', 2); // within the interval: waits for the next beat
  notify(2);
  await new Promise((resolve) => setTimeout(resolve, INTERVAL_MS + 300));
  assert.deepEqual(heard, [0, 1, 2]);
  // The badge's 1 came within the interval of its first push: the trailing push carries the 2.
  assert.deepEqual(badge, [0, 2]);
  await Promise.all([stop(), stopBadge()]);
});
