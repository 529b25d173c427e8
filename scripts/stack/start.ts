import { readFile, writeFile } from 'node:fs/promises';
import { MongoClient } from 'mongodb';
import { signDevToken } from '../../platform/auth.js';
import { connectCache } from '../../platform/cache.js';
import { int, oneOf, optionalStr, readEnv, str } from '../../platform/env.js';
import { createLogger } from '../../platform/logger.js';
import { createMetrics } from '../../platform/metrics.js';
import { databaseName } from '../../platform/mongo.js';
import { projectPath } from '../../platform/paths.js';
import { restartDelay, startSupergraphProcesses, type RestartEvent } from './processes.js';
import { seedDemoData } from './seed.js';
import { ensureNats, ensureRedis, startMongo, type MongoServerHandle } from './services.js';
import { API_SCHEMA_FILE, composeFromConfig, SUPERGRAPH_FILE } from '../tools/supergraph.js';
import { buildWebApp, serveWebApp } from './web-app.js';

/**
 * `npm start`: the whole system on one machine. The embedded Mongo-wire server keeps its data in
 * .data/ unless MONGODB_URI names a real deployment; Redis and NATS are used where they answer and
 * started otherwise; then the four subgraphs and the gateway, each its own process, as in
 * production; demo data on first run.
 */
const env = readEnv({
  MONGODB_URI: optionalStr(),
  MONGO_PORT: int(27017, 0, 65_535),
  MONGO_DURABILITY: oneOf(['commit', 'fsync', 'delayed'] as const, 'commit'),
  MONGODB_DB_PREFIX: str('ig'),
  REDIS_URL: str('redis://127.0.0.1:6379'),
  EVENTS_PREFIX: str('ig'),
  NATS_URL: str('nats://127.0.0.1:4222'),
  HOST: str('127.0.0.1'),
  GATEWAY_PORT: int(4000, 1, 65_535),
  FEED_PORT: int(4001, 1, 65_535),
  LIKES_PORT: int(4002, 1, 65_535),
  COMMENTS_PORT: int(4003, 1, 65_535),
  NOTIFICATIONS_PORT: int(4004, 1, 65_535),
  // The web app's own origin; the gateway's CORS_ORIGINS default names this port.
  WEB_PORT: int(5173, 1, 65_535),
});

const say = (line: string) => console.error(`[start] ${line}`);
const cleanups: (() => Promise<void>)[] = [];
let stopping = false;

async function stopAll(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    say('stopping');
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  }
  process.exit(code);
}
process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));

function describeRestart(event: RestartEvent): string {
  switch (event.phase) {
    case 'exited':
      return `${event.name} exited (${event.exit}); restarting in ${event.delayMs} ms (restart ${event.attempt} in a row)`;
    case 'ready':
      return `${event.name} restarted (pid ${event.pid})`;
    case 'failed':
      return `${event.name} did not come back: ${event.error}`;
  }
}

const RESTART_POLICY = { initialDelayMs: 1_000, maxDelayMs: 30_000, resetAfterMs: 60_000 };

/**
 * The embedded server, started again on the same port (the subgraphs' URI) whenever it dies: the
 * H2 store on disk holds every acknowledged write, and the drivers reconnect on their own.
 */
async function superviseMongo(): Promise<string> {
  let current: MongoServerHandle | undefined;
  let attempt = 0;
  let startedAt = 0;
  // Restarts reuse the port the first start got, so the URI the services hold stays right.
  let port = env.MONGO_PORT;
  const restart = (why: string) => {
    attempt = Date.now() - startedAt >= RESTART_POLICY.resetAfterMs ? 1 : attempt + 1;
    const delayMs = restartDelay(RESTART_POLICY, attempt);
    say(`mongo-server ${why}; restarting in ${delayMs} ms (restart ${attempt} in a row)`);
    setTimeout(() => {
      if (stopping) return;
      launch().then(
        () => say(`mongo-server restarted on port ${port}`),
        (error: Error) => restart(`did not come back (${error.message})`),
      );
    }, delayMs);
  };
  const launch = async () => {
    startedAt = Date.now();
    current = await startMongo({
      backend: 'h2',
      port,
      durability: env.MONGO_DURABILITY,
      onExit: (exit) => restart(`exited (${exit})`),
    });
    return current;
  };
  const { uri } = await launch();
  port = Number(new URL(uri).port);
  cleanups.push(() => current?.stop() ?? Promise.resolve());
  return uri;
}

async function composeIfChanged() {
  const result = await composeFromConfig();
  if (!result.supergraphSdl || !result.apiSdl)
    throw new Error(`composition failed:\n${result.errors.join('\n')}`);
  const files: [string, string][] = [
    [SUPERGRAPH_FILE, result.supergraphSdl],
    [API_SCHEMA_FILE, result.apiSdl],
  ];
  for (const [name, sdl] of files) {
    const file = projectPath(name);
    const current = await readFile(file, 'utf8').catch(() => '');
    if (current !== `${sdl}\n`) {
      await writeFile(file, `${sdl}\n`);
      say(`composed ${name}`);
    }
  }
}

try {
  await composeIfChanged();
  let mongoUri = env.MONGODB_URI;
  if (!mongoUri) {
    mongoUri = await superviseMongo();
    say(`embedded Mongo-wire server (H2 store in .data/mongo) at ${mongoUri}`);
  }
  const redis = await ensureRedis(env.REDIS_URL);
  cleanups.push(() => redis.stop());
  const nats = await ensureNats(env.NATS_URL);
  cleanups.push(() => nats.stop());

  const services = await startSupergraphProcesses({
    host: env.HOST,
    ports: {
      gateway: env.GATEWAY_PORT,
      feed: env.FEED_PORT,
      likes: env.LIKES_PORT,
      comments: env.COMMENTS_PORT,
      notifications: env.NOTIFICATIONS_PORT,
    },
    env: {
      // One log line per request is for operators; a demo's terminal shows warnings and up.
      LOG_LEVEL: 'warn',
      // Media URLs point at this gateway, whatever port it was given.
      MEDIA_BASE_URL: `http://127.0.0.1:${env.GATEWAY_PORT}`,
      // The web app served below, whatever port it was given.
      CORS_ORIGINS: `http://127.0.0.1:${env.WEB_PORT},http://localhost:${env.WEB_PORT}`,
      ...process.env,
      MONGODB_URI: mongoUri,
      REDIS_URL: redis.url,
      NATS_URL: nats.url,
    },
    // A crashed service comes back on its own; the others keep serving meanwhile.
    restart: {
      ...RESTART_POLICY,
      onRestart: (event) => say(describeRestart(event)),
    },
  });
  cleanups.push(() => services.stop());

  const mongo = new MongoClient(mongoUri);
  // The subgraphs' cache: the seed's writes must reach it as theirs do.
  const cache = connectCache({
    url: redis.url,
    prefix: `${env.EVENTS_PREFIX}:cache`,
    timeoutMs: 1_000,
    ttlSeconds: 300,
    logger: createLogger('start', 'warn'),
    metrics: createMetrics('start'),
  });
  try {
    const feedDb = mongo.db(databaseName(env.MONGODB_DB_PREFIX, 'feed'));
    if (await seedDemoData(services.gatewayUrl, feedDb, cache)) {
      say('seeded demo data: users alice, bob, carol, dave, erin, frank');
    }
  } finally {
    await cache.close();
    await mongo.close();
  }

  if (await buildWebApp()) say('built the web app (web/dist)');
  const web = await serveWebApp({
    host: env.HOST,
    port: env.WEB_PORT,
    gatewayUrl: new URL(services.gatewayUrl).origin,
  });
  cleanups.push(() => web.stop());

  const token = await signDevToken('alice');
  const query =
    '{ feed(first: 3) { edges { node { id caption author { id username } likeCount viewerHasLiked commentCount comments(first: 2) { edges { node { body author { id } } } } } } } }';
  const url = services.gatewayUrl;
  console.error(`
  Web app: ${web.url}   (sign in as a demo user)
  Gateway: ${url}   (subscriptions: ${url.replace('http', 'ws')}, protocol graphql-transport-ws)
  A dev token for alice (7 days; any user: npm run token -- <userId>):
    ${token}

  Try:
    curl -s ${url} -H 'content-type: application/json' \\
      -H 'authorization: Bearer ${token}' \\
      -d '${JSON.stringify({ query })}'

  Ctrl-C stops everything.
`);
} catch (error) {
  say(`failed: ${(error as Error).message}`);
  await stopAll(1);
}
