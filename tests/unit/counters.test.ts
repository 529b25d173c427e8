import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { coalescing } from '../../platform/counters.js';

/** A source of rows and a recount of it that takes 20 ms and counts its runs. */
function counted() {
  const state = { source: 0, runs: 0 };
  const recount = async () => {
    state.runs++;
    const seen = state.source;
    await delay(20);
    return seen;
  };
  return { state, recount };
}

test('writers arriving during a recount share the one queued behind it', async () => {
  const coalesce = coalescing<number>();
  const { state, recount } = counted();
  state.source = 1;
  const first = coalesce('post', recount);
  await delay(5); // the first recount is running
  const during = Array.from({ length: 50 }, () => {
    state.source++;
    return coalesce('post', recount);
  });
  const results = await Promise.all([first, ...during]);
  assert.equal(state.runs, 2);
  assert.equal(results[0], 1);
  // Every late writer's answer counts its own write: the shared recount started after all of them.
  for (const result of results.slice(1)) assert.equal(result, 51);
});

test('with a gap, writers arriving after a recount but before the next starts still share it', async () => {
  const coalesce = coalescing<number>(200);
  const { state, recount } = counted();
  state.source = 1;
  const first = coalesce('post', recount);
  await delay(5);
  state.source = 2;
  const queued = coalesce('post', recount); // waits for the first, then for the gap
  await first;
  await delay(40); // the first has settled; the queued one has not started
  state.source = 3;
  const late = coalesce('post', recount);
  assert.equal(await queued, 3);
  assert.equal(await late, 3);
  assert.equal(state.runs, 2);
});

test('keys do not wait for each other, and a failed recount does not block the next', async () => {
  const coalesce = coalescing<string>();
  const failing = coalesce('a', () => Promise.reject(new Error('database down')));
  const other = coalesce('b', async () => 'b');
  await assert.rejects(failing, /database down/);
  assert.equal(await other, 'b');
  assert.equal(await coalesce('a', async () => 'recovered'), 'recovered');
});
