import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { insertUntil, missingIds } from './acknowledged-writes.js';
import { startMongo, type MongoServerOptions } from '../stack/services.js';
import { numberOption, readOptions } from '../command-line.js';

/**
 * `npm run bench:durability`: what each durability mode of the embedded server's H2 store costs
 * and keeps. Per mode: acknowledged inserts a second from `--writers` concurrent writers for
 * `--seconds` (after 2 s unmeasured), then the same load killed with SIGKILL mid-way, restarted on the same file, and the
 * acknowledged inserts that are gone.
 */
const values = readOptions(
  'npm run bench:durability --',
  'What each durability mode of the embedded store costs, and what a kill -9 keeps.',
  {
    seconds: { type: 'string', default: '5' },
    writers: { type: 'string', default: '16' },
    modes: { type: 'string', default: 'delayed,commit,fsync' },
  },
);
const seconds = numberOption('seconds', values.seconds);
const writers = numberOption('writers', values.writers);
const modes = values.modes.split(',') as NonNullable<MongoServerOptions['durability']>[];

const rows: string[] = [];
for (const durability of modes) {
  const dir = await mkdtemp(path.join(tmpdir(), 'bench-durability-'));
  try {
    const file = path.join(dir, 'store.mv');
    const measured = await startMongo({ backend: 'h2', file, durability });
    // Unmeasured: the JVM compiles the write path first.
    await insertUntil(measured.uri, { database: 'warmup', writers, until: delay(2_000) });
    const load = await insertUntil(measured.uri, {
      database: 'bench',
      writers,
      until: delay(seconds * 1000),
    });
    await measured.stop();

    const killed = await startMongo({ backend: 'h2', file: path.join(dir, 'kill.mv'), durability });
    const crash = await insertUntil(killed.uri, {
      database: 'bench',
      writers,
      until: delay(seconds * 500).then(() => process.kill(killed.pid, 'SIGKILL')),
    });
    const restarted = await startMongo({ backend: 'h2', file: path.join(dir, 'kill.mv') });
    const lost = await missingIds(restarted.uri, 'bench', crash.acknowledged);
    await restarted.stop();

    const rate = Math.round(load.acknowledged.length / load.seconds);
    rows.push(
      `| ${durability} | ${rate.toLocaleString('en')} | ${crash.acknowledged.length} | ${lost.length} |`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
console.log(`H2 store, ${writers} writers, ${seconds} s per mode\n`);
console.log('| durability | acknowledged inserts/s | acknowledged before kill -9 | lost |');
console.log('| ---------- | ---------------------- | --------------------------- | ---- |');
for (const row of rows) console.log(row);
