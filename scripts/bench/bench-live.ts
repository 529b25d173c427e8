import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect, createServer, type Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { signDevToken } from '../../platform/auth.js';
import { createLogger } from '../../platform/logger.js';
import { createMetrics } from '../../platform/metrics.js';
import { connectEvents } from '../../platform/pubsub.js';
import { projectPath } from '../../platform/paths.js';
import type { FromSubscribers, SubscriberPlan, ToSubscribers } from './bench-live-subscribers.js';
import { percentile, processStats } from './measure.js';
import { freePorts, startSupergraphProcesses } from '../stack/processes.js';
import { ensureNats, ensureRedis, startMongo } from '../stack/services.js';
import { choiceOption, numberOption, readOptions } from '../command-line.js';

/**
 * `npm run bench:live`: the gateway's subscription fan-out under a like storm. N WebSocket
 * subscribers each watch the hot post and one of M others; like events are published straight
 * onto the pub/sub engine (as the likes subgraph would, minus the database), at `--rate` per
 * second on the hot post and 10 per second on each other post. The subscribers run in processes
 * of their own (`--client-processes`), apart from the publisher, so that neither delays the
 * other's clock. Measured on the gateway process: CPU time and peak RSS; on the clients:
 * deliveries and publish-to-client latency. The same workload runs twice side by side: coalesced
 * at the default 4 pushes a second, and at 100.
 */
const args = readOptions(
  'npm run bench:live --',
  'Live like counts fanned out to WebSocket subscribers through the gateway.',
  {
    subscribers: { type: 'string', default: '2000' },
    posts: { type: 'string', default: '20' },
    seconds: { type: 'string', default: '15' },
    rate: { type: 'string', default: '5000' },
    engine: { type: 'string', default: 'nats' },
    baseline: { type: 'string', default: '100' },
    'client-processes': { type: 'string', default: '1' },
    profile: { type: 'boolean', default: false },
  },
);
const N = numberOption('subscribers', args.subscribers);
const M = numberOption('posts', args.posts);
const SECONDS = numberOption('seconds', args.seconds);
const RATE = numberOption('rate', args.rate);
const BASELINE = numberOption('baseline', args.baseline);
const ENGINE = choiceOption('engine', args.engine, ['nats', 'redis'] as const);
const CLIENT_PROCESSES = Math.max(1, numberOption('client-processes', args['client-processes']));
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

interface Subscribers {
  /** Settles once every socket has its initial pushes. */
  ready: Promise<void>;
  tell: (message: ToSubscribers) => void;
  /** Every push received while measuring, and what went wrong. */
  stop: () => Promise<{ pushes: number[]; problems: string[] }>;
  kill: () => void;
}

/** A process of subscribers (`bench-live-subscribers.ts`) connecting and subscribing its share. */
function startSubscribers(plan: SubscriberPlan): Subscribers {
  const child = fork(projectPath('dist/scripts/bench/bench-live-subscribers.js'), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const tell = (message: ToSubscribers) => child.send(message);
  const next = <T extends FromSubscribers['type']>(type: T) =>
    new Promise<Extract<FromSubscribers, { type: T }>>((resolve, reject) => {
      const settled = () => {
        child.off('message', onMessage);
        child.off('exit', onExit);
      };
      const onMessage = (message: FromSubscribers) => {
        if (message.type === 'failed') reject(new Error(message.problems.join('; ')));
        else if (message.type === type) resolve(message as Extract<FromSubscribers, { type: T }>);
        else return;
        settled();
      };
      const onExit = (code: number | null) => {
        reject(new Error(`subscribers exited with ${code}`));
        settled();
      };
      child.on('message', onMessage);
      child.on('exit', onExit);
    });
  const ready = next('ready').then(() => undefined);
  tell({ type: 'start', plan });
  return {
    ready,
    tell,
    async stop() {
      const result = next('result');
      tell({ type: 'stop' });
      return result;
    },
    kill: () => child.kill(),
  };
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
  /** The hot post alone: a count at most a few ms old when pushed, so this is the fan-out's own. */
  hotP50: number;
  hotP99: number;
  /**
   * The other posts: a change every 100 ms held for the next push (one per 250 ms when
   * coalesced) waits up to 100 ms by design, which sets this tail.
   */
  othersP99: number;
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
    // `--profile`: every service writes a V8 CPU profile at exit.
    nodeArgs: args.profile
      ? ['--cpu-prof', `--cpu-prof-dir=${projectPath('.data/bench/profile-live')}`]
      : [],
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
  const subscribers: Subscribers[] = [];
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

    // Publish times by post and count: the latency of a push is the time it was received minus
    // the time the event carrying its count was published (both ms since the epoch).
    const published = new Map<string, number[]>(posts.map((id) => [id, []]));
    const wsUrl = services.gatewayUrl.replace('http', 'ws');
    // Signed up front, so the connecting loop does nothing but connect.
    const tokens = await Promise.all(
      Array.from({ length: N }, (_, i) => signDevToken(`viewer-${i}`)),
    );
    const share = Math.ceil(N / CLIENT_PROCESSES);
    for (let first = 0; first < N; first += share) {
      subscribers.push(
        startSubscribers({ wsUrl, posts, first, tokens: tokens.slice(first, first + share) }),
      );
    }
    await Promise.all(subscribers.map((subscriber) => subscriber.ready));
    say(`${label}: ${N} subscribers ready in ${subscribers.length} processes`);

    const before = await processStats(services.pids.gateway);
    let peakRssMb = before.rssMb;
    for (const subscriber of subscribers) subscriber.tell({ type: 'measure' });
    const started = performance.now();
    const seq = new Map<string, number>(posts.map((id) => [id, 0]));
    /** Whether a count's publication is timed: only within the measured window. */
    let timing = true;
    const publish = (postId: string) => {
      const likeSeq = (seq.get(postId) ?? 0) + 1;
      seq.set(postId, likeSeq);
      if (timing) {
        (published.get(postId) as number[])[likeSeq] = performance.timeOrigin + performance.now();
      }
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
    // The load goes on for a second past the window, untimed. Had it stopped with the window,
    // each post's last count would wait for coalescing's trailing push (up to an interval) in
    // every run, a tail of the benchmark's own ending, not of the steady state it measures.
    while (performance.now() - started < (SECONDS + 1) * 1_000) {
      tick++;
      timing = tick * tickMs <= SECONDS * 1_000;
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
    const elapsed = (performance.now() - started) / 1_000;
    const after = await processStats(services.pids.gateway);
    peakRssMb = Math.max(peakRssMb, after.rssMb);
    const gatewayCpuSeconds = after.cpuSeconds - before.cpuSeconds;
    const received = await Promise.all(subscribers.map((subscriber) => subscriber.stop()));
    const problems = received.flatMap((result) => result.problems);
    if (problems.length > 0) say(`${label}: ${problems.slice(0, 5).join('; ')}`);
    const latencies: number[] = [];
    const hotLatencies: number[] = [];
    const otherLatencies: number[] = [];
    let deliveries = 0;
    let hotPushes = 0;
    for (const { pushes } of received) {
      for (let i = 0; i < pushes.length; i += 3) {
        const post = posts[pushes[i] as number] as string;
        deliveries++;
        if (post === hot) hotPushes++;
        const sentAt = published.get(post)?.[pushes[i + 1] as number];
        if (sentAt === undefined) continue;
        const latency = (pushes[i + 2] as number) - sentAt;
        latencies.push(latency);
        (post === hot ? hotLatencies : otherLatencies).push(latency);
      }
    }
    for (const list of [latencies, hotLatencies, otherLatencies]) list.sort((a, b) => a - b);
    return {
      label,
      deliveries,
      deliveriesPerSecond: deliveries / elapsed,
      gatewayCpuSeconds,
      deliveriesPerCpuSecond: deliveries / gatewayCpuSeconds,
      p50: percentile(latencies, 50),
      p95: percentile(latencies, 95),
      p99: percentile(latencies, 99),
      hotP50: percentile(hotLatencies, 50),
      hotP99: percentile(hotLatencies, 99),
      othersP99: percentile(otherLatencies, 99),
      hotPushesPerSubscriberPerSecond: hotPushes / N / elapsed,
      peakRssMb,
    };
  } finally {
    for (const subscriber of subscribers) subscriber.kill();
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
  if (BASELINE > 0) {
    results.push(await run(`baseline (${BASELINE}/s)`, BASELINE, infra));
  }
  const rows: [string, (result: Result) => string][] = [
    ['deliveries', (r) => String(r.deliveries)],
    ['deliveries/s', (r) => r.deliveriesPerSecond.toFixed(0)],
    ['gateway CPU seconds', (r) => r.gatewayCpuSeconds.toFixed(2)],
    ['deliveries per gateway CPU-second', (r) => r.deliveriesPerCpuSecond.toFixed(0)],
    ['publish-to-client p50 ms', (r) => r.p50.toFixed(1)],
    ['publish-to-client p95 ms', (r) => r.p95.toFixed(1)],
    ['publish-to-client p99 ms', (r) => r.p99.toFixed(1)],
    ['hot post p50 / p99 ms', (r) => `${r.hotP50.toFixed(1)} / ${r.hotP99.toFixed(1)}`],
    ['other posts p99 ms', (r) => r.othersP99.toFixed(1)],
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
    `targets (coalesced run): >= 70000 deliveries per gateway CPU-second: ${main.deliveriesPerCpuSecond >= 70_000 ? 'met' : 'NOT met'}; ` +
      `p99 < 50 ms: ${main.p99 < 50 ? 'met' : 'NOT met'}; RSS < 300 MB: ${main.peakRssMb < 300 ? 'met' : 'NOT met'}`,
  );
} finally {
  await Promise.allSettled([mongo.stop(), nats.stop(), redis.stop()]);
}
