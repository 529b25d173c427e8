import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { MongoClient } from 'mongodb';
import { startMongo } from '../../scripts/stack/services.js';
import { until } from '../helpers/ws.js';

/** `OplogCap.MAX_ENTRIES` in the launcher. */
const KEPT = 10_000;

for (const backend of ['memory', 'h2'] as const) {
  test(
    `the embedded server (${backend}) keeps only the newest ${KEPT} oplog entries, and change streams still work`,
    { timeout: 120_000 },
    async (t) => {
      const dir = await mkdtemp(path.join(tmpdir(), 'mongo-oplog-'));
      t.after(() => rm(dir, { recursive: true, force: true }));
      const server = await startMongo(
        backend === 'h2' ? { backend, file: path.join(dir, 'store.mv') } : { backend },
      );
      t.after(() => server.stop());
      const client = await MongoClient.connect(server.uri);
      t.after(() => client.close());
      const rows = client.db('oplog').collection<{ _id: number }>('rows');
      const oplog = client.db('local').collection('oplog.rs');

      // Every insert is one oplog entry: two and a half times what is kept.
      const written = 25_000;
      for (let start = 0; start < written; start += 1_000) {
        await rows.insertMany(Array.from({ length: 1_000 }, (_, i) => ({ _id: start + i })));
      }
      await until('the oplog to be trimmed', async () => (await oplog.countDocuments()) <= KEPT);
      assert.equal(await rows.countDocuments(), written, 'trimming the oplog lost data');
      // The newest entries are the ones kept.
      const kept = await oplog
        .find({ ns: 'oplog.rows' }, { projection: { o: 1 } })
        .toArray()
        .then((entries) => entries.map((entry) => (entry.o as { _id: number })._id));
      assert.ok(kept.length > 0 && kept.length <= KEPT);
      assert.equal(Math.min(...kept), written - kept.length);
      assert.equal(Math.max(...kept), written - 1);

      const stream = rows.watch();
      t.after(() => stream.close());
      // Opens the stream on the server (it starts from then on) before the insert it must see.
      assert.equal(await stream.tryNext(), null);
      await rows.insertOne({ _id: written });
      const change = (await stream.next()) as {
        operationType: string;
        documentKey: { _id: number };
      };
      assert.equal(change.operationType, 'insert');
      assert.equal(change.documentKey._id, written);
    },
  );
}
