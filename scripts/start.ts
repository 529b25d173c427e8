import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { MongoClient } from 'mongodb';
import { signDevToken } from '../platform/auth.js';
import { int, optionalStr, readEnv, str } from '../platform/env.js';
import { databaseName } from '../platform/mongo.js';
import { projectPath, projectRoot } from '../platform/paths.js';
import { seedDemoData } from './seed.js';
import { ensureNats, ensureRedis, startMongo } from './services.js';
import { composeFromConfig, SUPERGRAPH_FILE } from './supergraph.js';

/**
 * `npm start`: the whole system on one machine. The embedded Mongo-wire server keeps its data in
 * .data/ unless MONGODB_URI names a real deployment; Redis and NATS are used where they answer and
 * started otherwise; then the three subgraphs and the gateway, each its own process, as in
 * production; demo data on first run.
 */
const env = readEnv({
  MONGODB_URI: optionalStr(),
  MONGO_PORT: int(27017, 0, 65_535),
  MONGODB_DB_PREFIX: str('ig'),
  REDIS_URL: str('redis://127.0.0.1:6379'),
  NATS_URL: str('nats://127.0.0.1:4222'),
  HOST: str('127.0.0.1'),
  GATEWAY_PORT: int(4000, 1, 65_535),
  FEED_PORT: int(4001, 1, 65_535),
  LIKES_PORT: int(4002, 1, 65_535),
  COMMENTS_PORT: int(4003, 1, 65_535),
});

const say = (line: string) => console.error(`[start] ${line}`);
const cleanups: (() => Promise<void>)[] = [];
const children: ChildProcess[] = [];
let stopping = false;

async function stopAll(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    say('stopping');
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
          }),
      ),
    );
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  }
  process.exit(code);
}
process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));

async function composeIfChanged() {
  const result = await composeFromConfig();
  if (!result.supergraphSdl) throw new Error(`composition failed:\n${result.errors.join('\n')}`);
  const file = projectPath(SUPERGRAPH_FILE);
  const current = await readFile(file, 'utf8').catch(() => '');
  if (current !== `${result.supergraphSdl}\n`) {
    await writeFile(file, `${result.supergraphSdl}\n`);
    say(`composed ${SUPERGRAPH_FILE}`);
  }
}

async function waitReady(name: string, port: number) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const ready = await fetch(`http://${env.HOST}:${port}/health/ready`)
      .then((response) => response.ok)
      .catch(() => false);
    if (ready) return;
    await delay(200);
  }
  throw new Error(`${name} did not become ready on port ${port}`);
}

function startService(name: string, entry: string, serviceEnv: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [projectPath(entry)], {
    cwd: projectRoot,
    env: serviceEnv,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  child.on('exit', (code, signal) => {
    if (!stopping) {
      say(`${name} exited (${signal ?? code}); stopping everything`);
      void stopAll(1);
    }
  });
  children.push(child);
}

try {
  await composeIfChanged();
  let mongoUri = env.MONGODB_URI;
  if (!mongoUri) {
    const mongo = await startMongo({ backend: 'h2', port: env.MONGO_PORT });
    cleanups.push(() => mongo.stop());
    mongoUri = mongo.uri;
    say(`embedded Mongo-wire server (H2 store in .data/mongo) at ${mongoUri}`);
  }
  const redis = await ensureRedis(env.REDIS_URL);
  cleanups.push(() => redis.stop());
  const nats = await ensureNats(env.NATS_URL);
  cleanups.push(() => nats.stop());

  const url = (port: number) => `http://${env.HOST}:${port}/graphql`;
  const serviceEnv = {
    ...process.env,
    MONGODB_URI: mongoUri,
    REDIS_URL: redis.url,
    NATS_URL: nats.url,
    FEED_URL: url(env.FEED_PORT),
    LIKES_URL: url(env.LIKES_PORT),
    COMMENTS_URL: url(env.COMMENTS_PORT),
  };
  startService('feed', 'dist/subgraphs/feed/index.js', serviceEnv);
  await waitReady('feed', env.FEED_PORT);
  startService('likes', 'dist/subgraphs/likes/index.js', serviceEnv);
  startService('comments', 'dist/subgraphs/comments/index.js', serviceEnv);
  await Promise.all([waitReady('likes', env.LIKES_PORT), waitReady('comments', env.COMMENTS_PORT)]);
  startService('gateway', 'dist/gateway/index.js', serviceEnv);
  await waitReady('gateway', env.GATEWAY_PORT);

  const mongo = new MongoClient(mongoUri);
  try {
    if (
      await seedDemoData(
        url(env.GATEWAY_PORT),
        mongo.db(databaseName(env.MONGODB_DB_PREFIX, 'feed')),
      )
    ) {
      say('seeded demo data: users alice, bob, carol, dave, erin, frank');
    }
  } finally {
    await mongo.close();
  }

  const token = await signDevToken('alice');
  const query =
    '{ feed(first: 3) { edges { node { id caption author { id username } likeCount viewerHasLiked commentCount comments(first: 2) { edges { node { body author { id } } } } } } } }';
  console.error(`
  Gateway: ${url(env.GATEWAY_PORT)}
  A dev token for alice (7 days; any user: npm run token -- <userId>):
    ${token}

  Try:
    curl -s ${url(env.GATEWAY_PORT)} -H 'content-type: application/json' \\
      -H 'authorization: Bearer ${token}' \\
      -d '${JSON.stringify({ query })}'

  Ctrl-C stops everything.
`);
} catch (error) {
  say(`failed: ${(error as Error).message}`);
  await stopAll(1);
}
