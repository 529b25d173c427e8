import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { groupCommit } from '../../platform/group-commit.js';

test('items arriving while a write is in flight go together in the next one', async () => {
  const writes: number[][] = [];
  const commit = groupCommit<number>(async (items) => {
    writes.push([...items]);
    await delay(20);
  });
  const first = commit(0);
  const during = Array.from({ length: 50 }, (_, n) => commit(n + 1));
  await Promise.all([first, ...during]);
  assert.deepEqual(writes, [[0], Array.from({ length: 50 }, (_, n) => n + 1)]);
  await commit(99); // nothing in flight: written at once, alone
  assert.deepEqual(writes.at(-1), [99]);
});

test('a failed write fails its own callers only, and the next write still happens', async () => {
  let calls = 0;
  const commit = groupCommit<string>(async (items) => {
    calls++;
    await delay(10);
    if (items.includes('bad')) throw new Error('write failed');
  });
  const bad = commit('bad');
  const next = commit('good');
  await assert.rejects(bad, /write failed/);
  await next;
  assert.equal(calls, 2);
});
