import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { insertUntil, missingIds } from '../../scripts/bench/acknowledged-writes.js';
import { startMongo } from '../../scripts/stack/services.js';

test(
  'the embedded server (H2) keeps every acknowledged write through a kill -9',
  { timeout: 120_000 },
  async (t) => {
    const dir = await mkdtemp(path.join(tmpdir(), 'mongo-durability-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'store.mv');

    const server = await startMongo({ backend: 'h2', file });
    // Killed while 16 writers are mid-flight: the library's own auto-commit runs once a second,
    // so the last writes before the kill are never older than that.
    let killed: () => void = () => {};
    const load = await insertUntil(server.uri, {
      database: 'durability',
      writers: 16,
      until: new Promise<void>((resolve) => (killed = resolve)),
      onAcknowledged: (count) => {
        if (count !== 300) return;
        process.kill(server.pid, 'SIGKILL');
        killed();
      },
    });
    assert.ok(load.acknowledged.length >= 300);

    const restarted = await startMongo({ backend: 'h2', file });
    t.after(() => restarted.stop());
    assert.deepEqual(await missingIds(restarted.uri, 'durability', load.acknowledged), []);
  },
);
