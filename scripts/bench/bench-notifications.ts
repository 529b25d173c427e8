import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { signDevToken } from '../../platform/auth.js';
import { publishLikeActivity } from '../../platform/durable-events.js';
import { createLogger } from '../../platform/logger.js';
import { createMetrics } from '../../platform/metrics.js';
import { connectEvents } from '../../platform/pubsub.js';
import { percentile, processStats } from './measure.js';
import { freePorts, startSupergraphProcesses } from '../stack/processes.js';
import { ensureNats, ensureRedis, freePort, startMongo } from '../stack/services.js';
import { numberOption, readOptions } from '../command-line.js';

/**
 * A like storm on one viral post, as the notifications subgraph sees it: `--rate` like events a
 * second (each by a new user) published onto the durable like topic, as the likes subgraph does
 * after each like, for `--seconds`, while the post's author holds a `notificationsChanged`
 * subscription through the gateway. Prints the notifications subgraph's database writes per like
 * (its `mongo_commands_total`, target ≤ 0.01) and the time from each like's publication to the
 * first push that counts it (target p99 < 1 s). The likes subgraph itself is left out: its cost
 * per like is the like path's (`npm run bench`'s storm), not the notifications'.
 */
const values = readOptions(
  'npm run bench:notifications --',
  'A like storm on one viral post, as the notifications subgraph sees it.',
  {
    rate: { type: 'string', default: '5000' },
    seconds: { type: 'string', default: '5' },
  },
);
const RATE = numberOption('rate', values.rate);
const SECONDS = numberOption('seconds', values.seconds);

const mongo = await startMongo({ backend: 'memory', port: 0 });
// A NATS of its own: the shared one's other streams must not weigh on this one's publications.
const nats = await ensureNats(`nats://127.0.0.1:${await freePort()}`);
const redis = await ensureRedis(process.env.REDIS_URL);
const prefix = `benchn${randomBytes(3).toString('hex')}`;
const ports = await freePorts();
const services = await startSupergraphProcesses({
  host: '127.0.0.1',
  ports,
  env: {
    ...process.env,
    MONGODB_URI: mongo.uri,
    MONGODB_DB_PREFIX: prefix,
    EVENTS_PREFIX: prefix,
    NATS_URL: nats.url,
    REDIS_URL: redis.url,
    LOG_LEVEL: 'warn',
  },
  logsToStderr: true,
});
const events = await connectEvents({
  natsUrl: nats.url,
  redisUrl: redis.url,
  engine: 'nats',
  prefix,
  name: 'bench-notifications',
  logger: createLogger('bench', 'warn'),
  metrics: createMetrics('bench'),
});

/** The notifications subgraph's database writes so far. */
async function writes(): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${ports.notifications}/metrics`)).text();
  let total = 0;
  for (const match of text.matchAll(
    /^mongo_commands_total\{[^}]*command="(insert|update|delete|findAndModify)"[^}]*\} (\d+)/gm,
  ))
    total += Number(match[2]);
  return total;
}

try {
  const author = 'bench-author';
  const token = await signDevToken(author);
  const created = await fetch(services.gatewayUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({
      query:
        'mutation { createPost(input: { media: [{ kind: PHOTO, url: "https://cdn.example.com/v.jpg" }] }) { id } }',
    }),
  });
  const postId = ((await created.json()) as { data: { createPost: { id: string } } }).data
    .createPost.id;

  const client = createClient({
    url: services.gatewayUrl.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
  });
  /** When each count was first pushed. */
  const pushedAt = new Map<number, number>();
  let pushes = 0;
  let subscribed!: () => void;
  const ready = new Promise<void>((resolve) => (subscribed = resolve));
  client.subscribe(
    { query: 'subscription { notificationsChanged { unreadCount latest { actorCount } } }' },
    {
      next(message) {
        pushes++;
        subscribed();
        const count = (
          message.data?.notificationsChanged as { latest: { actorCount: number } | null }
        )?.latest?.actorCount;
        if (count !== undefined && !pushedAt.has(count)) pushedAt.set(count, Date.now());
      },
      error: (error) => console.error('subscription error', error),
      complete: () => undefined,
    },
  );
  await ready;

  const before = await writes();
  const cpu = async () =>
    Promise.all(
      (['notifications', 'gateway'] as const).map(
        async (name) => (await processStats(services.pids[name])).cpuSeconds,
      ),
    );
  const cpuBefore = await cpu();
  const publishedAt: number[] = [];
  const started = Date.now();
  const total = RATE * SECONDS;
  const tickMs = 10;
  const inFlight: Promise<void>[] = [];
  // JetStream may refuse or time out under load: counted, never fatal.
  let failed = 0;
  for (let sent = 0; sent < total;) {
    const due = Math.min(total, Math.floor(((Date.now() - started) / 1_000) * RATE));
    for (; sent < due; sent++) {
      publishedAt[sent + 1] = Date.now();
      inFlight.push(
        publishLikeActivity(events, {
          eventId: `bench:${postId}:${sent}`,
          type: 'post.liked',
          postId,
          postAuthorId: author,
          actorId: `fan-${sent}`,
          likeCount: sent + 1,
          likeSeq: sent + 1,
          occurredAt: new Date().toISOString(),
        }),
      );
    }
    const settled = await Promise.allSettled([...inFlight, delay(tickMs)]);
    failed += settled.filter((outcome) => outcome.status === 'rejected').length;
  }
  const publishSeconds = (Date.now() - started) / 1_000;
  const deadline = Date.now() + 30_000;
  // Until the last like is pushed, or nothing new was pushed for 3 s (a failed publication).
  const highest = () => Math.max(0, ...pushedAt.keys());
  let seen = -1;
  let quietSince = Date.now();
  while (highest() < total && Date.now() < deadline && Date.now() - quietSince < 3_000) {
    if (highest() !== seen) [seen, quietSince] = [highest(), Date.now()];
    await delay(50);
  }
  await delay(500);
  const written = (await writes()) - before;
  const cpuAfter = await cpu();
  const cpuMsPerThousand = (index: number) =>
    (((cpuAfter[index] as number) - (cpuBefore[index] as number)) * 1_000_000) / total;

  // A like is pushed by the first push whose count includes it.
  const counts = [...pushedAt.entries()].sort((a, b) => a[0] - b[0]);
  const latencies: number[] = [];
  let next = 0;
  for (let like = 1; like <= total; like++) {
    while (next < counts.length && (counts[next] as [number, number])[0] < like) next++;
    const pushed = counts[next];
    if (pushed) latencies.push(pushed[1] - (publishedAt[like] as number));
  }
  const unpushed = total - latencies.length;
  latencies.sort((a, b) => a - b);
  console.log(
    `like storm on one post: ${total} likes in ${publishSeconds.toFixed(1)} s (${Math.round(total / publishSeconds)}/s asked ${RATE}/s)`,
  );
  console.log(
    `notifications database writes: ${written} = ${(written / total).toFixed(4)} per like (target <= 0.01)`,
  );
  console.log(
    `pushes to the author: ${pushes}; likes never pushed: ${unpushed}; publications JetStream did not acknowledge within their 2 s timeout: ${failed}`,
  );
  console.log(
    `CPU ms per 1,000 likes: notifications subgraph ${cpuMsPerThousand(0).toFixed(0)}, gateway ${cpuMsPerThousand(1).toFixed(0)}`,
  );
  console.log(
    `like -> author's push ms p50 / p95 / p99: ${percentile(latencies, 50)} / ${percentile(latencies, 95)} / ${percentile(latencies, 99)} (target p99 < 1000)`,
  );
  await client.dispose();
} finally {
  await events.close();
  await services.stop();
  await mongo.stop();
  await redis.stop();
  await nats.stop();
}
