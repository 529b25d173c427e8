import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { MongoClient } from 'mongodb';
import { signDevToken } from '../../platform/auth.js';
import { shardOfId } from '../../platform/ids.js';
import { databaseName } from '../../platform/mongo.js';
import { projectRoot } from '../../platform/paths.js';
import {
  freePorts,
  startSupergraphProcesses,
  type Ports,
  type RestartEvent,
  type SupergraphProcesses,
} from '../stack/processes.js';
import {
  ensureNats,
  ensureRedis,
  freePort,
  startMongo,
  type MongoServerHandle,
  type ServiceHandle,
} from '../stack/services.js';

/**
 * The fault suite: the whole stack as separate processes on private servers (the Mongo-wire
 * server on an H2 file, a Redis and a NATS with JetStream of its own), a bounded write load from
 * many users, and each tier killed with SIGKILL in turn and brought back: the gateway and the
 * subgraphs by `npm start`'s supervisor, the servers by the suite. Per scenario it reports the
 * writes acknowledged and found, whether the counts are exact, the error rate while the tier was
 * away, whether reads were served, and the time to recover.
 */
export interface ChaosOptions {
  /** Concurrent writers, each its own user. */
  users: number;
  /** Pause between one writer's requests: what bounds the load. */
  pauseMs: number;
  /** Load before each kill, and after recovery before checking. */
  warmMs: number;
  /** How long a server the suite restarts itself (Mongo, Redis, NATS) stays down. */
  downMs: number;
  tiers: Tier[];
  log(line: string): void;
}

export type Tier =
  'gateway' | 'feed' | 'likes' | 'comments' | 'notifications' | 'mongo' | 'redis' | 'nats';
export const ALL_TIERS: Tier[] = [
  'gateway',
  'feed',
  'likes',
  'comments',
  'notifications',
  'mongo',
  'redis',
  'nats',
];

export interface ScenarioResult {
  tier: Tier;
  /** Likes and comments the clients were told were written, since the suite started. */
  acknowledged: number;
  /** Of those, how many the database holds after recovery. */
  found: number;
  /** Every post's like and comment count, through the gateway, equals its rows. */
  countsExact: boolean;
  /** Writes and reads that failed from the kill to recovery, of all sent then. */
  errorRate: number;
  /** Reads answered with the post (partial data allowed) while the tier was away, of all sent. */
  readsServed: number;
  /** From the kill to the last failed request. */
  recoverMs: number;
  /** The supervisor's log of restarts during the scenario (gateway and subgraphs). */
  restarts: RestartEvent[];
}

interface PostCounts {
  postId: string;
  likeCount: number;
  commentCount: number;
}

/** The fields of the suite's operations it reads back. */
interface Answer {
  data?: {
    createPost?: { id: string };
    addComment?: { id: string };
    post?: { id: string } | null;
    postCounts?: PostCounts[] | null;
  } | null;
  errors?: unknown[];
}

interface Sent {
  kind: 'write' | 'read';
  start: number;
  end: number;
  ok: boolean;
}

const LIKE = 'mutation($id: ID!) { likePost(postId: $id) { id } }';
const COMMENT =
  'mutation($id: ID!, $body: String!) { addComment(postId: $id, body: $body) { id } }';
/** A post page and its counts: the post comes from feed, the counts from likes and comments. */
const READ = `query($id: ID!) {
  post(id: $id) { id caption likeCount commentCount }
  postCounts(postIds: [$id]) { likeCount commentCount }
}`;
const COUNTS =
  'query($ids: [ID!]!) { postCounts(postIds: $ids) { postId likeCount commentCount } }';
const REQUEST_TIMEOUT_MS = 5_000;
const POSTS = 4;

export async function runChaos(options: ChaosOptions): Promise<ScenarioResult[]> {
  const dir = await mkdtemp(path.join(tmpdir(), 'chaos-'));
  const prefix = `chaos${randomBytes(3).toString('hex')}`;
  const mongoFile = path.join(dir, 'store.mv');
  const mongoPort = await freePort();
  const redisUrl = `redis://127.0.0.1:${await freePort()}`;
  const natsPort = await freePort();
  const natsUrl = `nats://127.0.0.1:${natsPort}`;
  const startOwnMongo = () =>
    startMongo({ backend: 'h2', file: mongoFile, port: mongoPort, durability: 'commit' });

  let mongo: MongoServerHandle = await startOwnMongo();
  let redis: ServiceHandle = await ensureRedis(redisUrl);
  let nats: ServiceHandle = await ensureNats(natsUrl);
  const restarts: RestartEvent[] = [];
  const ports: Ports = await freePorts();
  let processes: SupergraphProcesses | undefined;
  const client = new MongoClient(mongo.uri, { serverSelectionTimeoutMS: 15_000 });
  try {
    processes = await startSupergraphProcesses({
      host: '127.0.0.1',
      ports,
      logsToStderr: true,
      env: {
        ...process.env,
        MONGODB_URI: mongo.uri,
        MONGODB_DB_PREFIX: prefix,
        EVENTS_PREFIX: prefix,
        REDIS_URL: redisUrl,
        NATS_URL: natsUrl,
        LOG_LEVEL: 'fatal',
        REPAIR_INTERVAL_MS: '2000',
        RATE_LIMIT_IP_PER_MINUTE: '10000000',
        RATE_LIMIT_USER_PER_MINUTE: '10000000',
        RATE_LIMIT_MUTATIONS_PER_MINUTE: '10000000',
      },
      restart: {
        initialDelayMs: 300,
        maxDelayMs: 5_000,
        resetAfterMs: 60_000,
        onRestart: (event) => {
          restarts.push(event);
          options.log(`supervisor: ${JSON.stringify(event)}`);
        },
      },
    });
    const gatewayUrl = processes.gatewayUrl;
    const gql = async (query: string, variables: Record<string, unknown>, token: string) => {
      const response = await fetch(gatewayUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        // A missing subgraph nulls only its own fields (the gateway's error behaviour NULL).
        body: JSON.stringify({ query, variables, onError: 'NULL' }),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      return (await response.json()) as Answer;
    };

    const authorToken = await signDevToken(`${prefix}-author`);
    const postIds: string[] = [];
    for (let i = 0; i < POSTS; i++) {
      const created = await gql(
        'mutation { createPost(input: { caption: "chaos", media: [{ kind: PHOTO, url: "https://cdn.example.com/c.jpg" }] }) { id } }',
        {},
        authorToken,
      );
      const id = created.data?.createPost?.id;
      if (!id) throw new Error(`chaos: createPost failed: ${JSON.stringify(created.errors)}`);
      postIds.push(id);
    }

    const likes = new Set<string>();
    const comments = new Set<string>();
    const sent: Sent[] = [];
    let running = true;
    /** Set while counts are compared: writers hold still, so rows and counts can agree. */
    let paused: Promise<void> | undefined;
    let inFlight = 0;
    const pick = () => postIds[Math.floor(Math.random() * postIds.length)] as string;
    const writer = async (user: number) => {
      const userId = `${prefix}-u${user}`;
      const token = await signDevToken(userId);
      const liked = new Set<string>();
      for (let n = 0; running; n++) {
        await paused;
        inFlight++;
        const start = Date.now();
        const postId = pick();
        const like = !liked.has(postId) && n % 2 === 0;
        let ok = false;
        try {
          const answer = like
            ? await gql(LIKE, { id: postId }, token)
            : await gql(COMMENT, { id: postId, body: `c${n}` }, token);
          ok = !answer.errors && Boolean(answer.data);
          if (ok && like) {
            liked.add(postId);
            likes.add(`${postId}|${userId}`);
          }
          const commentId = answer.data?.addComment?.id;
          if (ok && !like && commentId) comments.add(commentId);
        } catch {
          ok = false;
        }
        sent.push({ kind: 'write', start, end: Date.now(), ok });
        inFlight--;
        await delay(options.pauseMs);
      }
    };
    const reader = async () => {
      const token = await signDevToken(`${prefix}-reader`);
      while (running) {
        const start = Date.now();
        let ok = false;
        try {
          // Partial data counts as served: whatever the subgraphs still up could answer.
          const data = (await gql(READ, { id: pick() }, token)).data;
          ok = Boolean(data?.post?.id || data?.postCounts);
        } catch {
          ok = false;
        }
        sent.push({ kind: 'read', start, end: Date.now(), ok });
        await delay(options.pauseMs);
      }
    };
    const load = Promise.all([
      ...Array.from({ length: options.users }, (_, i) => writer(i)),
      ...Array.from({ length: Math.max(1, Math.round(options.users / 5)) }, () => reader()),
    ]);

    const results: ScenarioResult[] = [];
    const supervised = processes;
    const killAndRestore = async (tier: Tier) => {
      switch (tier) {
        case 'mongo':
          process.kill(mongo.pid, 'SIGKILL');
          await delay(options.downMs);
          mongo = await startOwnMongo();
          return;
        case 'redis':
          process.kill(redis.pid, 'SIGKILL');
          await delay(options.downMs);
          redis = await ensureRedis(redisUrl);
          return;
        case 'nats':
          process.kill(nats.pid, 'SIGKILL');
          await delay(options.downMs);
          nats = await ensureNats(natsUrl);
          return;
        default: {
          const before = restarts.length;
          process.kill(supervised.pids[tier], 'SIGKILL');
          const deadline = Date.now() + 60_000;
          while (!restarts.slice(before).some((e) => e.name === tier && e.phase === 'ready')) {
            if (Date.now() > deadline) throw new Error(`${tier} did not come back`);
            await delay(50);
          }
        }
      }
    };

    try {
      for (const tier of options.tiers) {
        await delay(options.warmMs);
        const restartsBefore = restarts.length;
        const killedAt = Date.now();
        options.log(`killing ${tier}`);
        await killAndRestore(tier);
        const backAt = Date.now();
        await delay(options.warmMs);
        const afterKill = sent.filter((r) => r.end >= killedAt);
        const lastFailure = Math.max(killedAt, ...afterKill.filter((r) => !r.ok).map((r) => r.end));
        const window = afterKill.filter((r) => r.start <= Math.max(backAt, lastFailure));
        const reads = window.filter((r) => r.kind === 'read');
        let resume = () => {};
        paused = new Promise((resolve) => (resume = resolve));
        while (inFlight > 0) await delay(20);
        const countsExact = await countsSettle(postIds);
        const found = await foundWrites();
        paused = undefined;
        resume();
        results.push({
          tier,
          acknowledged: likes.size + comments.size,
          found,
          countsExact,
          errorRate: window.length ? window.filter((r) => !r.ok).length / window.length : 0,
          readsServed: reads.length ? reads.filter((r) => r.ok).length / reads.length : 1,
          recoverMs: lastFailure - killedAt,
          restarts: restarts.slice(restartsBefore),
        });
        options.log(`${tier}: ${JSON.stringify(results.at(-1))}`);
      }
    } finally {
      running = false;
      await load;
    }
    return results;

    /** The acknowledged likes and comments the database holds. */
    async function foundWrites(): Promise<number> {
      const likeRows = await client
        .db(databaseName(prefix, 'likes'))
        .collection<{ postId: string; userId: string }>('likes')
        .find({ shard: { $in: postIds.map(shardOfId) }, active: true })
        .project<{ postId: string; userId: string }>({ postId: 1, userId: 1 })
        .toArray();
      const liked = new Set(likeRows.map((row) => `${row.postId}|${row.userId}`));
      const commentRows = await client
        .db(databaseName(prefix, 'comments'))
        .collection<{ _id: string }>('comments')
        .find({ shard: { $in: postIds.map(shardOfId) }, deleted: { $ne: true } })
        .project<{ _id: string }>({ _id: 1 })
        .toArray();
      const commented = new Set(commentRows.map((row) => row._id));
      return (
        [...likes].filter((key) => liked.has(key)).length +
        [...comments].filter((id) => commented.has(id)).length
      );
    }

    /** Every post's counts through the gateway equal its rows, within a few repair passes. */
    async function countsSettle(ids: string[]): Promise<boolean> {
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline) {
        const exact = await countsExactNow(ids).catch(() => false);
        if (exact) return true;
        await delay(500);
      }
      return false;
    }

    async function countsExactNow(ids: string[]): Promise<boolean> {
      const answer = await gql(COUNTS, { ids }, authorToken);
      const counts = answer.data?.postCounts as
        { postId: string; likeCount: number; commentCount: number }[] | undefined;
      if (!counts || answer.errors) return false;
      for (const count of counts) {
        const key = { shard: shardOfId(count.postId), postId: count.postId };
        const likeRows = await client
          .db(databaseName(prefix, 'likes'))
          .collection('likes')
          .countDocuments({ ...key, active: true });
        const commentRows = await client
          .db(databaseName(prefix, 'comments'))
          .collection('comments')
          .countDocuments({ ...key, deleted: { $ne: true } });
        if (count.likeCount !== likeRows || count.commentCount !== commentRows) return false;
      }
      return true;
    }
  } finally {
    await client.close().catch(() => undefined);
    await processes?.stop();
    await Promise.allSettled([mongo.stop(), redis.stop(), nats.stop()]);
    await rm(dir, { recursive: true, force: true });
    await rm(path.join(projectRoot, '.data', `nats-${natsPort}`), { recursive: true, force: true });
  }
}

/** The results as a Markdown table, as the README shows them. */
export function chaosTable(results: ScenarioResult[]): string {
  const rows = results.map((r) =>
    [
      r.tier,
      r.acknowledged,
      r.found,
      r.countsExact ? 'yes' : '**no**',
      `${(r.errorRate * 100).toFixed(0)}%`,
      `${(r.readsServed * 100).toFixed(0)}%`,
      `${(r.recoverMs / 1000).toFixed(1)} s`,
    ].join(' | '),
  );
  return [
    '| tier killed | writes acknowledged | found after | counts exact | errors during fault | reads served during fault | time to recover |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map((row) => `| ${row} |`),
  ].join('\n');
}
