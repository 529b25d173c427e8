import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ALL_TIERS, chaosTable, runChaos } from '../../scripts/faults/chaos-harness.js';

/** Tiers whose absence must leave queries served (partial data allowed). */
const SERVED_WITHOUT = new Set(['feed', 'likes', 'comments', 'notifications', 'redis', 'nats']);
const SUPERVISED = new Set(['gateway', 'feed', 'likes', 'comments', 'notifications']);

test(
  'kill -9 of each tier under a write load: no acknowledged write lost, counts exact, reads served, crashed services restarted',
  { timeout: 240_000 },
  async () => {
    const results = await runChaos({
      users: 10,
      pauseMs: 100,
      warmMs: 1_000,
      downMs: 1_000,
      tiers: ALL_TIERS,
      log: () => undefined,
    });
    const table = chaosTable(results);
    assert.deepEqual(
      results.map((r) => r.tier),
      ALL_TIERS,
    );
    for (const r of results) {
      assert.ok(r.acknowledged > 0, `${r.tier}: no write went through\n${table}`);
      assert.equal(r.found, r.acknowledged, `${r.tier}: acknowledged writes lost\n${table}`);
      assert.ok(r.countsExact, `${r.tier}: counts not exact after recovery\n${table}`);
      if (SERVED_WITHOUT.has(r.tier)) {
        assert.ok(r.readsServed >= 0.9, `${r.tier}: reads not served meanwhile\n${table}`);
      }
      if (SUPERVISED.has(r.tier)) {
        const exited = r.restarts.find((e) => e.name === r.tier && e.phase === 'exited');
        assert.ok(exited && exited.phase === 'exited' && exited.exit === 'SIGKILL', table);
        assert.ok(
          r.restarts.some((e) => e.name === r.tier && e.phase === 'ready'),
          table,
        );
        assert.ok(
          r.restarts.every((e) => e.name === r.tier),
          `only the killed service restarts: ${JSON.stringify(r.restarts)}`,
        );
      }
    }
  },
);
