import assert from 'node:assert/strict';
import { test } from 'node:test';
import { restartDelay } from '../../scripts/stack/processes.js';

test('a service that keeps crashing waits twice as long each time, up to the cap', () => {
  const policy = { initialDelayMs: 1_000, maxDelayMs: 30_000 };
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 7].map((attempt) => restartDelay(policy, attempt)),
    [1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000],
  );
});
