import { randomBytes } from 'node:crypto';
import { connect, createServer, type Socket } from 'node:net';
import { parseArgs } from 'node:util';
import { setTimeout as delay } from 'node:timers/promises';
import WebSocket from 'ws';
import { signDevToken } from '../../platform/auth.js';
import { createLogger } from '../../platform/logger.js';
import { createMetrics } from '../../platform/metrics.js';
import { connectEvents } from '../../platform/pubsub.js';
import { percentile, processStats } from './measure.js';
import { freePorts, startSupergraphProcesses } from '../stack/processes.js';
import { ensureNats, ensureRedis, startMongo } from '../stack/services.js';

/**
 * `npm run bench:live`: the gateway's subscription fan-out under a like storm. N WebSocket
 * subscribers each watch the hot post and one of M others; like events are published straight
 * onto the pub/sub engine (as the likes subgraph would, minus the database), at `--rate` per
 * second on the hot post and 10 per second on each other post. Measured on the gateway process:
 * CPU time and peak RSS; on the clients: deliveries and publish-to-client latency. The same
 * workload runs twice side by side: coalesced at the default 4 pushes a second, and at 100.
 */
const { values: args } = parseArgs({
  options: {
    subscribers: { type: 'string', default: '2000' },
    posts: { type: 'string', default: '20' },
    seconds: { type: 'string', default: '15' },
    rate: { type: 'string', default: '5000' },
    engine: { type: 'string', default: 'nats' },
    baseline: { type: 'string', default: '100' },
  },
});
const N = Number(args.subscribers);
const M = Number(args.posts);
const SECONDS = Number(args.seconds);
const RATE = Number(args.rate);
const ENGINE = args.engine === 'redis' ? 'redis' : 'nats';
const say = (line: string) => console.error(`[bench:live] ${line}`);

/**
 * The floor under any WebSocket fan-out here: CPU per small write to a loopback TCP socket (one
 * write per delivery is the least a push to a socket can cost), measured on 500 sockets.
 */
async function rawWriteMicros(): Promise<number> {
  const accepted: Socket[] = [];
  const server = createServer((socket) => {
    accepted.push(socket);
    socket.on('data', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const clients = Array.from({ length: 500 }, () =>
    connect(port, '127.0.0.1').on('data', () => undefined),
  );
  while (accepted.length < clients.length) await delay(20);
  for (const socket of accepted) socket.setNoDelay(true);
  const frame = Buffer.alloc(120, 'x');
  const before = process.cpuUsage();
  for (let round = 0; round < 40; round++) for (const socket of accepted) socket.write(frame);
  const used = process.cpuUsage(before);
  for (const socket of [...clients, ...accepted]) socket.destroy();
  server.close();
  return (used.user + used.system) / (40 * accepted.length);
}

interface Result {
  label: string;
  deliveries: number;
  deliveriesPerSecond: number;
  gatewayCpuSeconds: number;
  deliveriesPerCpuSecond: number;
  p50: number;
  p95: number;
  p99: number;
  hotPushesPerSubscriberPerSecond: number;
  peakRssMb: number;
}

async function run(
  label: string,
  pushesPerSecond: number,
  infra: { mongoUri: string; natsUrl: string; redisUrl: string },
): Promise<Result> {
  const prefix = `bench${randomBytes(3).toString('hex')}`;
  const ports = await freePorts();
  const services = await startSupergraphProcesses({
    host: '127.0.0.1',
    ports,
    env: {
      ...process.env,
      MONGODB_URI: infra.mongoUri,
      MONGODB_DB_PREFIX: prefix,
      EVENTS_PREFIX: prefix,
      NATS_URL: infra.natsUrl,
      REDIS_URL: infra.redisUrl,
      PUBSUB_ENGINE: ENGINE,
      LOG_LEVEL: 'warn',
      SUBSCRIPTION_PUSHES_PER_SECOND: String(pushesPerSecond),
      SUBSCRIPTIONS_PER_CONNECTION: '10',
      // Every simulated subscriber connects from this one address and spends its budget once.
      STREAMING_CONNECTIONS_PER_IP: '1000000',
      RATE_LIMIT_IP_PER_MINUTE: '10000000',
      RATE_LIMIT_USER_PER_MINUTE: '10000000',
    },
  });
  const events = await connectEvents({
    natsUrl: infra.natsUrl,
    redisUrl: infra.redisUrl,
    engine: ENGINE,
    prefix,
    name: 'bench-publisher',
    logger: createLogger('bench', 'warn'),
    metrics: createMetrics('bench'),
  });
  const sockets: WebSocket[] = [];
  try {
    const token = await signDevToken('bench-author');
    const posts: string[] = [];
    for (let i = 0; i <= M; i++) {
      const response = await fetch(services.gatewayUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({
          query:
            'mutation { createPost(input: { media: [{ kind: PHOTO, url: "https://cdn.example.com/b.jpg" }] }) { id } }',
        }),
      });
      posts.push(
        ((await response.json()) as { data: { createPost: { id: string } } }).data.createPost.id,
      );
    }
    const [hot, ...others] = posts as [string, ...string[]];

    // Publish times by post and count: the latency of a push is now minus the time the event
    // carrying its count was published.
    const published = new Map<string, number[]>(posts.map((id) => [id, []]));
    const latencies: number[] = [];
    let deliveries = 0;
    let hotPushes = 0;
    let measuring = false;
    let initial = 0;
    const problems: string[] = [];

    const wsUrl = services.gatewayUrl.replace('http', 'ws');
    // Signed up front, so the connecting loop does nothing but connect.
    const tokens = await Promise.all(
      Array.from({ length: N }, (_, i) => signDevToken(`viewer-${i}`)),
    );
    for (let i = 0; i < N; i++) {
      const socket = new WebSocket(wsUrl, 'graphql-transport-ws');
      sockets.push(socket);
      const subscriberToken = tokens[i] as string;
      socket.on('open', () =>
        socket.send(
          JSON.stringify({
            type: 'connection_init',
            payload: { authorization: `Bearer ${subscriberToken}` },
          }),
        ),
      );
      socket.on('message', (raw) => {
        const message = JSON.parse(String(raw));
        if (message.type === 'connection_ack') {
          socket.send(
            JSON.stringify({
              id: '1',
              type: 'subscribe',
              payload: {
                query:
                  'subscription($ids: [ID!]!) { postCountsChanged(postIds: $ids) { postId likeCount commentCount } }',
                variables: { ids: [hot, others[i % others.length]] },
              },
            }),
          );
          return;
        }
        if (message.type === 'error') problems.push(JSON.stringify(message.payload));
        if (message.type !== 'next') return;
        const counts = message.payload.data.postCountsChanged as {
          postId: string;
          likeCount: number;
        };
        if (!measuring) {
          initial++;
          return;
        }
        deliveries++;
        if (counts.postId === hot) hotPushes++;
        const sentAt = published.get(counts.postId)?.[counts.likeCount];
        if (sentAt !== undefined) latencies.push(performance.now() - sentAt);
      });
      socket.on('close', (code) => {
        if (!measuring || code !== 1005) problems.push(`socket ${i} closed with ${code}`);
      });
      socket.on('error', (error) => problems.push(`socket ${i}: ${error.message}`));
      // Connect in waves, each acknowledged before the next: a burst of thousands of handshakes
      // would overflow the listen backlog, which measures the kernel, not the gateway.
      if (i % 250 === 249) {
        const waveDeadline = Date.now() + 30_000;
        while (initial < 2 * (i + 1) && problems.length === 0 && Date.now() < waveDeadline)
          await delay(20);
      }
    }
    const deadline = Date.now() + 60_000;
    while (initial < 2 * N && Date.now() < deadline) await delay(100);
    if (initial < 2 * N) {
      throw new Error(
        `only ${initial} of ${2 * N} initial pushes arrived: ${problems.slice(0, 5).join('; ')}`,
      );
    }
    say(`${label}: ${N} subscribers ready`);

    const before = await processStats(services.pids.gateway);
    let peakRssMb = before.rssMb;
    measuring = true;
    const started = performance.now();
    const seq = new Map<string, number>(posts.map((id) => [id, 0]));
    const publish = (postId: string) => {
      const likeSeq = (seq.get(postId) ?? 0) + 1;
      seq.set(postId, likeSeq);
      (published.get(postId) as number[])[likeSeq] = performance.now();
      void events.pubsub.publish('likes', {
        eventId: `${postId}-${likeSeq}`,
        type: 'post.liked',
        postId,
        actorId: 'bench',
        likeCount: likeSeq,
        likeSeq,
        occurredAt: new Date().toISOString(),
      });
    };
    const tickMs = 10;
    let tick = 0;
    while (performance.now() - started < SECONDS * 1_000) {
      tick++;
      const due =
        Math.floor((tick * tickMs * RATE) / 1_000) -
        Math.floor(((tick - 1) * tickMs * RATE) / 1_000);
      for (let i = 0; i < due; i++) publish(hot);
      if (tick % 10 === 0) for (const other of others) publish(other);
      if (tick % 50 === 0)
        peakRssMb = Math.max(peakRssMb, (await processStats(services.pids.gateway)).rssMb);
      const next = started + tick * tickMs;
      await delay(Math.max(0, next - performance.now()));
    }
    await delay(1_000); // trailing pushes
    measuring = false;
    const elapsed = (performance.now() - started) / 1_000;
    const after = await processStats(services.pids.gateway);
    peakRssMb = Math.max(peakRssMb, after.rssMb);
    const gatewayCpuSeconds = after.cpuSeconds - before.cpuSeconds;
    latencies.sort((a, b) => a - b);
    return {
      label,
      deliveries,
      deliveriesPerSecond: deliveries / elapsed,
      gatewayCpuSeconds,
      deliveriesPerCpuSecond: deliveries / gatewayCpuSeconds,
      p50: percentile(latencies, 50),
      p95: percentile(latencies, 95),
      p99: percentile(latencies, 99),
      hotPushesPerSubscriberPerSecond: hotPushes / N / elapsed,
      peakRssMb,
    };
  } finally {
    for (const socket of sockets) socket.terminate();
    await events.close();
    await services.stop();
  }
}

const mongo = await startMongo({ backend: 'memory', port: 0 });
const nats = await ensureNats(process.env.NATS_URL);
const redis = await ensureRedis(process.env.REDIS_URL);
try {
  const infra = { mongoUri: mongo.uri, natsUrl: nats.url, redisUrl: redis.url };
  say(
    `${N} subscribers, ${M + 1} posts, ${RATE} likes/s on the hot post for ${SECONDS} s, engine ${ENGINE}`,
  );
  const results = [await run('coalesced (4/s)', 4, infra)];
  // --baseline 0 skips the side-by-side run (it is slow at 10,000 subscribers).
  if (Number(args.baseline) > 0) {
    results.push(await run(`baseline (${args.baseline}/s)`, Number(args.baseline), infra));
  }
  const rows: [string, (result: Result) => string][] = [
    ['deliveries', (r) => String(r.deliveries)],
    ['deliveries/s', (r) => r.deliveriesPerSecond.toFixed(0)],
    ['gateway CPU seconds', (r) => r.gatewayCpuSeconds.toFixed(2)],
    ['deliveries per gateway CPU-second', (r) => r.deliveriesPerCpuSecond.toFixed(0)],
    ['publish-to-client p50 ms', (r) => r.p50.toFixed(1)],
    ['publish-to-client p95 ms', (r) => r.p95.toFixed(1)],
    ['publish-to-client p99 ms', (r) => r.p99.toFixed(1)],
    ['hot-post pushes per subscriber per s', (r) => r.hotPushesPerSubscriberPerSecond.toFixed(2)],
    ['gateway peak RSS MB', (r) => r.peakRssMb.toFixed(0)],
  ];
  const lines = [
    `| ${N} subscribers, ${ENGINE} | ${results.map((r) => r.label).join(' | ')} |`,
    `| --- | ${results.map(() => '---').join(' | ')} |`,
    ...rows.map(([name, value]) => `| ${name} | ${results.map(value).join(' | ')} |`),
  ];
  console.log(lines.join('\n'));
  const [main] = results as [Result];
  const floor = await rawWriteMicros();
  console.log(
    `\nfloor on this machine: ${floor.toFixed(1)} µs of CPU per raw 120-byte loopback write, ` +
      `so at most ${Math.round(1e6 / floor)} deliveries per CPU-second before any WebSocket or GraphQL work`,
  );
  console.log(
    `targets (coalesced run): >= 45000 deliveries per gateway CPU-second: ${main.deliveriesPerCpuSecond >= 45_000 ? 'met' : 'NOT met'}; ` +
      `p99 < 100 ms: ${main.p99 < 100 ? 'met' : 'NOT met'}; RSS < 300 MB: ${main.peakRssMb < 300 ? 'met' : 'NOT met'}`,
  );
} finally {
  await Promise.allSettled([mongo.stop(), nats.stop(), redis.stop()]);
}
