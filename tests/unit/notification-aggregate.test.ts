import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  aggregate,
  EMPTY_GROUP,
  type CountedAction,
} from '../../subgraphs/notifications/aggregate.js';

const liked = (actorId: string, count: number, seq = count): CountedAction => ({
  actorId,
  added: true,
  count,
  seq,
});
const unliked = (actorId: string, count: number, seq: number): CountedAction => ({
  actorId,
  added: false,
  count,
  seq,
});

test('actors newest first, at most `keep`, and the count from the absolute like count', () => {
  const actions = Array.from({ length: 42 }, (_, i) => liked(`u${i}`, i + 1));
  const { state, bumped } = aggregate(EMPTY_GROUP, 'author', actions, 3);
  assert.equal(bumped, true);
  assert.deepEqual(state.actors, ['u41', 'u40', 'u39']);
  assert.equal(state.actorCount, 42);
});

test('applying the same actions again, in any order, changes nothing', () => {
  const actions = [liked('a', 1), liked('b', 2), unliked('a', 1, 3), liked('c', 2, 4)];
  const once = aggregate(EMPTY_GROUP, 'author', actions, 10).state;
  const twice = aggregate(once, 'author', [...actions].reverse(), 10);
  assert.deepEqual(twice.state, once);
  assert.equal(twice.bumped, false);
  assert.deepEqual(once.actors, ['c', 'b']);
  assert.equal(once.actorCount, 2);
});

test('likes counted by one recount (the same ticket) all count', () => {
  const { state } = aggregate(
    EMPTY_GROUP,
    'author',
    [liked('a', 3, 7), liked('b', 3, 7), liked('c', 3, 7)],
    10,
  );
  assert.equal(state.actorCount, 3);
  assert.deepEqual(state.actors, ['c', 'b', 'a']);
});

test("an action older than one applied is ignored; the recipient's own like is not counted", () => {
  let { state } = aggregate(EMPTY_GROUP, 'author', [liked('author', 1), liked('b', 2)], 10);
  assert.equal(state.actorCount, 1);
  assert.deepEqual(state.actors, ['b']);
  state = aggregate(state, 'author', [liked('late', 1, 1)], 10).state;
  assert.deepEqual(state.actors, ['b'], 'a like already superseded by a later recount');
});

test("the recipient's own like whose event comes after a later recount's is still not counted", () => {
  // The author liked (ticket 5), then b (ticket 6): b's event, carrying both likes, came first.
  let { state } = aggregate(EMPTY_GROUP, 'author', [liked('b', 2, 6)], 10);
  assert.equal(state.actorCount, 2, 'until the late event, the count cannot know');
  state = aggregate(state, 'author', [liked('author', 1, 5)], 10).state;
  assert.equal(state.actorCount, 1);
  assert.deepEqual(state.actors, ['b']);
  // An unlike with a later ticket wins over that like, whichever event comes last.
  state = aggregate(state, 'author', [unliked('author', 1, 7), liked('author', 2, 5)], 10).state;
  assert.equal(state.actorCount, 1);
  assert.equal(state.self, false);
});

test('after reading, a new like starts a new count with only the new actors; an unlike while read changes nothing shown', () => {
  let { state } = aggregate(EMPTY_GROUP, 'author', [liked('a', 1), liked('b', 2)], 10);
  state = { ...state, read: true };
  state = aggregate(state, 'author', [unliked('a', 1, 3)], 10).state;
  assert.deepEqual([state.read, state.actorCount, state.actors], [true, 2, ['b', 'a']]);
  const reopened = aggregate(state, 'author', [liked('c', 2, 4), liked('d', 3, 5)], 10);
  assert.equal(reopened.bumped, true);
  assert.deepEqual(
    [reopened.state.read, reopened.state.actorCount, reopened.state.actors],
    [false, 2, ['d', 'c']],
  );
});

test('every actor taken back before reading leaves nothing to show', () => {
  let { state } = aggregate(EMPTY_GROUP, 'author', [liked('a', 1)], 10);
  state = aggregate(state, 'author', [unliked('a', 0, 2)], 10).state;
  assert.deepEqual([state.actorCount, state.actors], [0, []]);
});

test("a new group counts every like the post holds, also one whose event comes after a later one's", () => {
  let { state } = aggregate(EMPTY_GROUP, 'author', [liked('b', 2)], 10);
  assert.deepEqual([state.actorCount, state.actors], [2, ['b']], 'b and 1 other');
  state = aggregate(state, 'author', [liked('a', 1)], 10).state;
  assert.deepEqual([state.actorCount, state.actors], [2, ['b']], 'the late like was counted');
});
