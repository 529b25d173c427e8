import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { projectPath, projectRoot } from '../../platform/paths.js';
import { ensureNats, ensureRedis, startMongo } from './services.js';

/**
 * `npm test`: one Mongo-wire server (memory backend) for the whole run, Redis and NATS found or
 * started, then node's test runner over every compiled test file. Each file starts its own
 * supergraph on port 0 with its own databases, so files can run in parallel.
 */
async function testFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return (
    entries
      .filter((entry) => entry.isFile() && entry.name.endsWith('.test.js'))
      .map((entry) => relative(projectRoot, join(entry.parentPath, entry.name)))
      // A compiled test whose source was deleted or renamed is stale output, not a test.
      .filter((file) =>
        existsSync(projectPath(file.replace(/^dist\//, '').replace(/\.js$/, '.ts'))),
      )
      .sort()
  );
}

const filters = process.argv.slice(2);
const files = (await testFiles(projectPath('dist/tests'))).filter(
  (file) => filters.length === 0 || filters.some((filter) => file.includes(filter)),
);
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}

/**
 * A test or hook that hangs (a service that never finishes stopping, say) fails after this, with
 * its name, instead of holding CI until it is killed: over six times the slowest test or suite of
 * a full run on a 2-core machine (46 s).
 */
const TEST_TIMEOUT_MS = 300_000;

const mongo = await startMongo({ backend: 'memory', port: 0 });
const redis = await ensureRedis(process.env.REDIS_URL);
const nats = await ensureNats(process.env.NATS_URL);
let code = 1;
try {
  code = await new Promise<number>((resolve) => {
    const timeout = `--test-timeout=${TEST_TIMEOUT_MS}`;
    const child = spawn(process.execPath, ['--test', '--test-concurrency=2', timeout, ...files], {
      cwd: projectRoot,
      stdio: 'inherit',
      env: { ...process.env, MONGODB_URI: mongo.uri, REDIS_URL: redis.url, NATS_URL: nats.url },
    });
    child.on('exit', (exitCode, signal) => resolve(exitCode ?? (signal ? 1 : 0)));
  });
} finally {
  await Promise.allSettled([mongo.stop(), redis.stop(), nats.stop()]);
}
process.exit(code);
