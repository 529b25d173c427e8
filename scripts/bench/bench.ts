import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { dirname } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { setTimeout as delay } from 'node:timers/promises';
import { signDevToken } from '../../platform/auth.js';
import { shardOfId } from '../../platform/ids.js';
import { connectMongo, databaseName } from '../../platform/mongo.js';
import { projectPath, projectRoot } from '../../platform/paths.js';
import type { LoadPlan, LoadResult } from './bench-load.js';
import { FEED_QUERY } from './bench-queries.js';
import { startGrafbase } from './bench-grafbase.js';
import { seedBench } from './bench-seed.js';
import { percentile, processStats } from './measure.js';
import {
  freePorts,
  startServiceProcess,
  startSupergraphProcesses,
  type ServiceProcess,
} from '../stack/processes.js';
import { ensureNats, ensureRedis, freePort, startMongo } from '../stack/services.js';
import { SUPERGRAPH_FILE } from '../tools/supergraph.js';
import { choiceOption, numberOption, readOptions } from '../command-line.js';

/**
 * `npm run bench`: the read path at scale. Seeds a large graph into the embedded Mongo-wire
 * server, starts the four subgraphs once (separate processes), then four gateways over them,
 * each one process: (a) ours, (b) a plain `@apollo/gateway` + `@apollo/server` with default
 * settings, (c) `@graphql-hive/gateway` with its router runtime, (d) Grafbase, a Rust gateway,
 * and on request (e) the floor: the feed query's subgraph requests sent by hand, no GraphQL
 * (`bench-floor-gateway.ts`).
 * The same workload runs against each in alternation (a, b, c, d, a, b, c, d, ...), each for a fixed time at a fixed concurrency, from
 * a load generator in its own process; gateway CPU comes from /proc, subgraph requests and
 * database commands from the subgraphs' /metrics. Then a like storm on one post through our
 * gateway while the feed is read, against the same feed load without it, and the post's final
 * count checked against the likes acknowledged.
 */
const args = readOptions(
  'npm run bench --',
  'The read path at scale: ours, plain @apollo/gateway, Hive Gateway and Grafbase over the same\nsubgraphs and seeded graph, then a like storm read through our gateway.',
  {
    seconds: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '32' },
    users: { type: 'string', default: '1000' },
    posts: { type: 'string', default: '20000' },
    'min-follows': { type: 'string', default: '20' },
    'max-follows': { type: 'string', default: '60' },
    'likes-per-post': { type: 'string', default: '3' },
    'comments-per-post': { type: 'string', default: '1' },
    'storm-rate': { type: 'string', default: '5000' },
    'storm-seconds': { type: 'string', default: '10' },
    gateways: { type: 'string', default: 'ours,apollo,hive,grafbase' },
    workload: { type: 'string', default: 'mixed' },
    out: { type: 'string', default: '.data/bench.md' },
    profile: { type: 'boolean', default: false },
  },
);
const SECONDS = numberOption('seconds', args.seconds);
const WORKLOAD = choiceOption('workload', args.workload, ['mixed', 'feed'] as const);
const ROUNDS = numberOption('rounds', args.rounds);
// The floor serves the feed query and nothing else.
if ((args.gateways ?? '').split(',').includes('floor') && WORKLOAD !== 'feed') {
  throw new Error('--gateways floor needs --workload feed');
}
const CONCURRENCY = numberOption('concurrency', args.concurrency);
const STORM_RATE = numberOption('storm-rate', args['storm-rate']);
const STORM_SECONDS = numberOption('storm-seconds', args['storm-seconds']);
const SEED = {
  users: numberOption('users', args.users),
  posts: numberOption('posts', args.posts),
  minFollows: numberOption('min-follows', args['min-follows']),
  maxFollows: numberOption('max-follows', args['max-follows']),
  likesPerPost: numberOption('likes-per-post', args['likes-per-post']),
  commentsPerPost: numberOption('comments-per-post', args['comments-per-post']),
};
const say = (line: string) => console.error(`[bench] ${line}`);
/** `--profile`: every process of ours (gateway, subgraphs, the floor) writes a V8 CPU profile at exit. */
const profileArgs = args.profile
  ? ['--cpu-prof', `--cpu-prof-dir=${projectPath('.data/bench/profile')}`]
  : [];

interface Gateway {
  key: string;
  label: string;
  url: string;
  process: ServiceProcess;
}

interface Phase {
  result: LoadResult;
  cpuSeconds: number;
  /** The gateway's read and write system calls in the phase (each costs dearly on a VM). */
  readCalls: number;
  writeCalls: number;
  subgraphRequests: number;
  mongoCommands: number;
  /**
   * Database commands by `<subgraph> <command>`, and cache lookups by `<subgraph> cache <cache>
   * <outcome>`: where a gateway's queries cost the subgraphs, and whether the cache took its share.
   */
  countsBySubgraph: Map<string, number>;
  /** CPU each subgraph process and the Mongo-wire server spent in the phase. */
  backendCpuSeconds: Record<BackendProcess, number>;
}

const BACKEND_PROCESSES = ['feed', 'likes', 'comments', 'database'] as const;
type BackendProcess = (typeof BACKEND_PROCESSES)[number];

/** Sum of every sample of the named counters in a Prometheus text body. */
function sumSamples(text: string, name: string, filter = ''): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) && line.includes(filter)) {
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return sum;
}

function runLoad(plan: LoadPlan): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [projectPath('dist/scripts/bench/bench-load.js')], {
      cwd: projectRoot,
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    child.stdin.end(JSON.stringify(plan));
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`load generator exited with ${code}`));
      resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as LoadResult);
    });
  });
}

const mongoServer = await startMongo({ backend: 'memory', port: 0 });
const nats = await ensureNats(process.env.NATS_URL);
const redis = await ensureRedis(process.env.REDIS_URL);
const prefix = `bench${randomBytes(3).toString('hex')}`;
const tokenSecret = randomBytes(32).toString('hex');
const signToken = (userId: string) => signDevToken(userId, tokenSecret);
const cleanups: (() => Promise<void>)[] = [];
try {
  const ports = await freePorts();
  const host = '127.0.0.1';
  const subgraphUrl = (port: number) => `http://${host}:${port}/graphql`;
  // Every Node process runs as deployed (`deploy/Dockerfile`): in production mode, which needs a
  // secret of its own. Development mode costs the subgraphs about 2% more CPU in graphql-js alone
  // (its `instanceOf` looks for a second copy of the library on every type check that misses).
  const baseEnv: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'production',
    JWT_SECRET: tokenSecret,
    MONGODB_URI: mongoServer.uri,
    MONGODB_DB_PREFIX: prefix,
    EVENTS_PREFIX: prefix,
    NATS_URL: nats.url,
    REDIS_URL: redis.url,
    LOG_LEVEL: 'warn',
  };
  const subgraphOptions = {
    host,
    ports,
    env: baseEnv,
    gateway: false,
    logsToStderr: true,
    onExit: (name: string, code: number | string | null) => say(`${name} exited with ${code}`),
    nodeArgs: profileArgs,
  };
  // The services create their indexes on the empty collections first, as in production where
  // the data arrives through them: built afterwards over a seeded database, at once, under
  // load, an index build could outlast a start-up command's timeout.
  say('creating the indexes (the subgraphs started once on the empty database)');
  await (await startSupergraphProcesses(subgraphOptions)).stop();

  say(`seeding ${args.users} users and ${args.posts} posts`);
  const mongo = await connectMongo(mongoServer.uri, { appName: 'bench-seed' });
  const seedStarted = performance.now();
  const seeded = await seedBench(mongo, prefix, SEED);
  await mongo.close();
  const seedSeconds = (performance.now() - seedStarted) / 1_000;
  say(
    `seeded in ${seedSeconds.toFixed(1)} s: ${seeded.follows} follows, ${seeded.likes} likes, ${seeded.comments} comments`,
  );

  const subgraphs = await startSupergraphProcesses(subgraphOptions);
  cleanups.push(() => subgraphs.stop());

  // Every gateway reads the same supergraph, with routing URLs pointed at this run's subgraphs.
  const supergraphPath = projectPath('.data/bench/supergraph.graphql');
  await mkdir(dirname(supergraphPath), { recursive: true });
  const supergraph = (await readFile(projectPath(SUPERGRAPH_FILE), 'utf8'))
    .replace('http://127.0.0.1:4001/graphql', subgraphUrl(ports.feed))
    .replace('http://127.0.0.1:4002/graphql', subgraphUrl(ports.likes))
    .replace('http://127.0.0.1:4003/graphql', subgraphUrl(ports.comments));
  await writeFile(supergraphPath, supergraph);

  const graphqlProbe: RequestInit = {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: '{ __typename }' }),
  };
  /** A Node peer of ours under `scripts/bench/`: the bench's supergraph, on `BENCH_PORT`. */
  const nodePeer =
    (
      name: string,
      entry: string,
      ready: { path: string; init?: RequestInit },
      nodeArgs?: string[],
    ) =>
    (port: number) =>
      startServiceProcess({
        logsToStderr: true,
        name,
        entry: `dist/scripts/bench/${entry}`,
        env: { ...baseEnv, BENCH_PORT: String(port), SUPERGRAPH_PATH: supergraphPath },
        readyUrl: `http://${host}:${port}${ready.path}`,
        readyInit: ready.init,
        nodeArgs,
      });
  const kinds: Record<string, { label: string; start: (port: number) => Promise<ServiceProcess> }> =
    {
      ours: {
        label: '(a) ours',
        start: (port) =>
          startServiceProcess({
            logsToStderr: true,
            name: 'gateway',
            entry: 'dist/gateway/index.js',
            env: {
              ...baseEnv,
              HOST: host,
              GATEWAY_PORT: String(port),
              SUPERGRAPH_PATH: supergraphPath,
              FEED_URL: subgraphUrl(ports.feed),
              LIKES_URL: subgraphUrl(ports.likes),
              COMMENTS_URL: subgraphUrl(ports.comments),
              // Production budgets would refuse a benchmark's thousands of requests a minute per
              // user; the limiter still runs (one Redis round trip per request).
              RATE_LIMIT_IP_PER_MINUTE: '10000000',
              RATE_LIMIT_USER_PER_MINUTE: '10000000',
              RATE_LIMIT_MUTATIONS_PER_MINUTE: '10000000',
            },
            readyUrl: `http://${host}:${port}/health/ready`,
            nodeArgs: profileArgs,
          }),
      },
      apollo: {
        label: '(b) @apollo/gateway',
        start: nodePeer('apollo-gateway', 'bench-apollo-gateway.js', {
          path: '/',
          init: graphqlProbe,
        }),
      },
      hive: {
        label: '(c) @graphql-hive/gateway',
        start: nodePeer('hive-gateway', 'bench-hive-gateway.js', {
          path: '/graphql',
          init: graphqlProbe,
        }),
      },
      grafbase: {
        label: '(d) Grafbase (Rust)',
        start: (port) =>
          startGrafbase({
            host,
            port,
            env: baseEnv,
            subgraphUrls: {
              feed: subgraphUrl(ports.feed),
              likes: subgraphUrl(ports.likes),
              comments: subgraphUrl(ports.comments),
            },
          }),
      },
      floor: {
        label: '(e) floor: the feed query by hand (Node)',
        start: nodePeer(
          'floor-gateway',
          'bench-floor-gateway.js',
          { path: '/health' },
          profileArgs,
        ),
      },
    };
  const gateways: Gateway[] = [];
  for (const key of (args.gateways ?? '').split(',')) {
    const kind = kinds[key];
    if (!kind) throw new Error(`unknown gateway ${key}: ours, apollo, hive, grafbase or floor`);
    const port = key === 'ours' ? ports.gateway : await freePort();
    const started = await kind.start(port);
    cleanups.push(() => started.stop());
    gateways.push({
      key,
      label: kind.label,
      url: `http://${host}:${port}/graphql`,
      process: started,
    });
  }
  say(`gateways up: ${gateways.map((g) => g.label).join(', ')}`);

  // The same answer from every gateway, or the comparison means nothing.
  const viewer = seeded.userIds[7] as string;
  const viewerToken = await signToken(viewer);
  const answers = await Promise.all(
    gateways.map(async (gateway) => {
      const response = await fetch(gateway.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${viewerToken}` },
        body: JSON.stringify({ query: FEED_QUERY }),
      });
      return response.text();
    }),
  );
  const sameAnswers = answers.every((answer) =>
    isDeepStrictEqual(JSON.parse(answer), JSON.parse(answers[0] as string)),
  );
  if (!sameAnswers) {
    for (const [i, answer] of answers.entries()) {
      const file = projectPath(`.data/bench/feed-${gateways[i]?.key}.json`);
      await writeFile(file, answer);
      say(`the feed answers differ: ${gateways[i]?.label} answered ${file}`);
    }
  }

  const subgraphNames = ['feed', 'likes', 'comments'] as const;
  const subgraphMetrics = async () => {
    const texts = await Promise.all(
      subgraphNames.map((name) =>
        fetch(`http://${host}:${ports[name]}/metrics`).then((r) => r.text()),
      ),
    );
    const countsBySubgraph = new Map<string, number>();
    for (const [i, text] of texts.entries()) {
      for (const [, command, value] of text.matchAll(
        /^mongo_commands_total\{command="([^"]+)"[^}]*\} (\S+)$/gm,
      )) {
        countsBySubgraph.set(`${subgraphNames[i]} ${command}`, Number(value));
      }
      for (const [, cache, outcome, value] of text.matchAll(
        /^cache_requests_total\{cache="([^"]+)",outcome="([^"]+)"[^}]*\} (\S+)$/gm,
      )) {
        countsBySubgraph.set(`${subgraphNames[i]} cache ${cache} ${outcome}`, Number(value));
      }
    }
    return {
      countsBySubgraph,
      requests: texts.reduce(
        (sum, text) =>
          sum + sumSamples(text, 'http_request_duration_seconds_count', 'route="/graphql"'),
        0,
      ),
      commands: texts.reduce((sum, text) => sum + sumSamples(text, 'mongo_commands_total'), 0),
    };
  };

  const tokens = await Promise.all(seeded.userIds.map(signToken));
  // Posts for the post-detail query and the writes: the newest 2,000, the part of the graph feeds show.
  const plan = (mode: LoadPlan['mode'], url: string, seconds: number): LoadPlan => ({
    mode,
    url,
    seconds,
    concurrency: CONCURRENCY,
    tokens,
    postIds: seeded.postIds.slice(0, 2_000),
    writeShare: 0.05,
    postShare: 0.25,
  });

  /** CPU seconds so far of each subgraph and of the Mongo-wire server (0 when not ours to read). */
  const backendCpu = async () => {
    const [feed, likes, comments, database] = await Promise.all(
      [subgraphs.pids.feed, subgraphs.pids.likes, subgraphs.pids.comments, mongoServer.pid].map(
        async (pid) => (pid > 0 ? (await processStats(pid)).cpuSeconds : 0),
      ),
    );
    return { feed, likes, comments, database } as Record<BackendProcess, number>;
  };

  async function measure(gateway: Gateway, load: LoadPlan): Promise<Phase> {
    const before = await processStats(gateway.process.pid);
    const backendBefore = await backendCpu();
    const metricsBefore = await subgraphMetrics();
    const result = await runLoad(load);
    const after = await processStats(gateway.process.pid);
    const backendAfter = await backendCpu();
    const metricsAfter = await subgraphMetrics();
    return {
      result,
      cpuSeconds: after.cpuSeconds - before.cpuSeconds,
      readCalls: after.readCalls - before.readCalls,
      writeCalls: after.writeCalls - before.writeCalls,
      subgraphRequests: metricsAfter.requests - metricsBefore.requests,
      mongoCommands: metricsAfter.commands - metricsBefore.commands,
      countsBySubgraph: new Map(
        [...metricsAfter.countsBySubgraph].map(([key, value]) => [
          key,
          value - (metricsBefore.countsBySubgraph.get(key) ?? 0),
        ]),
      ),
      backendCpuSeconds: Object.fromEntries(
        BACKEND_PROCESSES.map((name) => [name, backendAfter[name] - backendBefore[name]]),
      ) as Record<BackendProcess, number>,
    };
  }

  // Every user's timeline built and the caches filled before anything is measured: otherwise the
  // gateway measured first would pay, in database commands, for the subgraphs' first reads.
  say(`reading every user's feed once`);
  const firstGateway = gateways[0] as Gateway;
  const unread = [...tokens];
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let token = unread.pop(); token !== undefined; token = unread.pop()) {
        const response = await fetch(firstGateway.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            authorization: `Bearer ${token}`,
          },
          body: JSON.stringify({ query: FEED_QUERY }),
        });
        await response.text();
      }
    }),
  );
  say(`warming up each gateway for 3 s`);
  for (const gateway of gateways) await runLoad(plan(WORKLOAD, gateway.url, 3));
  // What each gateway burns with no load at all (timers, connections, GC): at a few requests a
  // second it is a visible share of the CPU measured under load.
  const idleBefore = await Promise.all(gateways.map((g) => processStats(g.process.pid)));
  await delay(5_000);
  const idleAfter = await Promise.all(gateways.map((g) => processStats(g.process.pid)));
  const idleCpuPerSecond = new Map(
    gateways.map((g, i) => [
      g.key,
      ((idleAfter[i]?.cpuSeconds ?? 0) - (idleBefore[i]?.cpuSeconds ?? 0)) / 5,
    ]),
  );
  const phases = new Map<string, Phase[]>(gateways.map((g) => [g.key, []]));
  for (let round = 1; round <= ROUNDS; round++) {
    for (const gateway of gateways) {
      const phase = await measure(gateway, plan(WORKLOAD, gateway.url, SECONDS));
      phases.get(gateway.key)?.push(phase);
      say(
        `round ${round} ${gateway.label}: ${(phase.result.requests / phase.result.elapsed).toFixed(0)} req/s, ` +
          `${(phase.result.requests / phase.cpuSeconds).toFixed(0)} req per CPU-s, ${phase.result.errors} errors`,
      );
    }
  }

  // Peaks since each process started, warm-up included: the kernel keeps them (VmHWM). The
  // subgraphs served every gateway's rounds, so theirs is one figure for the run.
  const peakRssMb = async (pid: number) => (pid > 0 ? (await processStats(pid)).peakRssMb : 0);
  const gatewayPeakRssMb = new Map(
    await Promise.all(gateways.map(async (g) => [g.key, await peakRssMb(g.process.pid)] as const)),
  );
  const subgraphPeakRssMb = await Promise.all(
    subgraphNames.map((name) => peakRssMb(subgraphs.pids[name])),
  );

  interface Summary {
    gateway: Gateway;
    peakRssMb: number;
    requests: number;
    errors: number;
    errorSamples: string[];
    perSecond: number;
    perCpuSecond: number;
    perCpuSecondRounds: number[];
    idleCpuPerSecond: number;
    perBusyCpuSecond: number;
    p50: number;
    p95: number;
    p99: number;
    feedP95: number;
    readCallsPerQuery: number;
    writeCallsPerQuery: number;
    subgraphRequestsPerQuery: number;
    commandsPerQuery: number;
    countsBySubgraphPerQuery: Map<string, number>;
    subgraphCpuMsPerQuery: number;
    backendCpuMsPerQuery: Record<BackendProcess, number>;
  }
  const summaries: Summary[] = gateways.map((gateway) => {
    const runs = phases.get(gateway.key) ?? [];
    const requests = runs.reduce((sum, run) => sum + run.result.requests, 0);
    const elapsed = runs.reduce((sum, run) => sum + run.result.elapsed, 0);
    const cpu = runs.reduce((sum, run) => sum + run.cpuSeconds, 0);
    const all = runs
      .flatMap((run) => Object.values(run.result.latencies).flat())
      .sort((a, b) => a - b);
    const feed = runs.flatMap((run) => run.result.latencies.feed ?? []).sort((a, b) => a - b);
    return {
      gateway,
      peakRssMb: gatewayPeakRssMb.get(gateway.key) ?? 0,
      requests,
      errors: runs.reduce((sum, run) => sum + run.result.errors, 0),
      errorSamples: runs.flatMap((run) => run.result.errorSamples).slice(0, 3),
      perSecond: requests / elapsed,
      perCpuSecond: requests / cpu,
      perCpuSecondRounds: runs.map((run) => run.result.requests / run.cpuSeconds),
      idleCpuPerSecond: idleCpuPerSecond.get(gateway.key) ?? 0,
      perBusyCpuSecond:
        requests / Math.max(0.01, cpu - (idleCpuPerSecond.get(gateway.key) ?? 0) * elapsed),
      p50: percentile(all, 50),
      p95: percentile(all, 95),
      p99: percentile(all, 99),
      feedP95: percentile(feed, 95),
      readCallsPerQuery: runs.reduce((sum, run) => sum + run.readCalls, 0) / requests,
      writeCallsPerQuery: runs.reduce((sum, run) => sum + run.writeCalls, 0) / requests,
      subgraphRequestsPerQuery: runs.reduce((sum, run) => sum + run.subgraphRequests, 0) / requests,
      commandsPerQuery: runs.reduce((sum, run) => sum + run.mongoCommands, 0) / requests,
      countsBySubgraphPerQuery: new Map(
        [...new Set(runs.flatMap((run) => [...run.countsBySubgraph.keys()]))]
          .sort()
          .map((key) => [
            key,
            runs.reduce((sum, run) => sum + (run.countsBySubgraph.get(key) ?? 0), 0) / requests,
          ]),
      ),
      subgraphCpuMsPerQuery:
        (runs.reduce(
          (sum, run) =>
            sum +
            run.backendCpuSeconds.feed +
            run.backendCpuSeconds.likes +
            run.backendCpuSeconds.comments,
          0,
        ) *
          1_000) /
        requests,
      backendCpuMsPerQuery: Object.fromEntries(
        BACKEND_PROCESSES.map((name) => [
          name,
          (runs.reduce((sum, run) => sum + run.backendCpuSeconds[name], 0) * 1_000) / requests,
        ]),
      ) as Record<BackendProcess, number>,
    };
  });

  // The like storm, through our gateway: feed p95 without it, then with it, same feed load.
  let stormLines: string[] = [];
  const ours = gateways.find((g) => g.key === 'ours');
  if (ours && STORM_SECONDS > 0) {
    const author = seeded.celebrities[0] as string;
    const authorToken = await signToken(author);
    const gql = async (query: string, variables: Record<string, unknown> = {}) => {
      const response = await fetch(ours.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${authorToken}` },
        body: JSON.stringify({ query, variables }),
      });
      // Both operations below select one object with one scalar.
      return (await response.json()) as {
        data?: Record<string, Record<string, string | number> | null>;
        errors?: unknown[];
      };
    };
    // A new post by the most followed user: the newest post in most feeds, so the feed reads it.
    const created = await gql(
      'mutation { createPost(input: { caption: "Storm", media: [{ kind: PHOTO, url: "https://media.example.com/storm.jpg" }] }) { id } }',
    );
    const hotPost = created.data?.createPost?.id as string;
    if (!hotPost) throw new Error(`createPost failed: ${JSON.stringify(created.errors)}`);
    const stormTokens = await Promise.all(
      Array.from({ length: Math.ceil(STORM_RATE * STORM_SECONDS) }, (_, n) =>
        signToken(`storm-${n}`),
      ),
    );
    say(`like storm on ${hotPost} by ${author}: ${STORM_RATE}/s for ${STORM_SECONDS} s`);
    const quiet = await measure(ours, plan('feed', ours.url, STORM_SECONDS));
    const [stormy, storm] = await Promise.all([
      measure(ours, plan('feed', ours.url, STORM_SECONDS)),
      runLoad({
        ...plan('storm', ours.url, STORM_SECONDS),
        storm: { postId: hotPost, rate: STORM_RATE, tokens: stormTokens, maxInFlight: 256 },
      }),
    ]);
    // The truth is the like rows: a like whose answer timed out at the client may still be stored,
    // and still be counted after the storm; so both are read until they agree (30 s at most).
    // A machine saturated by the storm may not answer for seconds: a failed read is tried again.
    const settleStarted = performance.now();
    let finalCount = -1;
    let likeRows = -2;
    while (performance.now() - settleStarted < 30_000) {
      await delay(1_000);
      try {
        const final = await gql('query($id: ID!) { post(id: $id) { likeCount } }', {
          id: hotPost,
        });
        finalCount = final.data?.post?.likeCount as number;
        const check = await connectMongo(mongoServer.uri, { appName: 'bench-check' });
        try {
          likeRows = await check
            .db(databaseName(prefix, 'likes'))
            .collection('likes')
            .countDocuments({ shard: shardOfId(hotPost), postId: hotPost, active: true });
        } finally {
          await check.close();
        }
      } catch (error) {
        say(`reading the storm's outcome failed, trying again: ${String(error)}`);
        continue;
      }
      if (finalCount === likeRows) break;
    }
    const settleSeconds = (performance.now() - settleStarted) / 1_000;
    const feedP95 = (phase: Phase) =>
      percentile(
        [...(phase.result.latencies.feed ?? [])].sort((a, b) => a - b),
        95,
      );
    const quietP95 = feedP95(quiet);
    const stormP95 = feedP95(stormy);
    const likeLatencies = [...(storm.latencies.like ?? [])].sort((a, b) => a - b);
    // Gateway, the three subgraphs, the Mongo-wire server.
    const tiers = (phase: Phase) => [
      phase.cpuSeconds,
      phase.backendCpuSeconds.feed +
        phase.backendCpuSeconds.likes +
        phase.backendCpuSeconds.comments,
      phase.backendCpuSeconds.database,
    ];
    const cpuOf = (phase: Phase) =>
      tiers(phase)
        .map((seconds) => seconds.toFixed(1))
        .join(' / ');
    // The readers ran in both phases, fewer under the storm: what the storm phase spent beyond
    // the quiet phase's CPU per feed request, times its feed requests, is the likes' share.
    const readShare = stormy.result.requests / Math.max(1, quiet.result.requests);
    const quietTiers = tiers(quiet);
    const extraPerLike = tiers(stormy)
      .map((seconds, tier) =>
        (
          ((seconds - (quietTiers[tier] ?? 0) * readShare) * 1_000) /
          Math.max(1, storm.requests)
        ).toFixed(2),
      )
      .join(' / ');
    stormLines = [
      '',
      `### Like storm (our gateway, ${CONCURRENCY} feed readers, ${STORM_SECONDS} s each)`,
      '',
      '| | without storm | with storm |',
      '| --- | --- | --- |',
      `| feed requests/s | ${(quiet.result.requests / quiet.result.elapsed).toFixed(0)} | ${(stormy.result.requests / stormy.result.elapsed).toFixed(0)} |`,
      `| feed p95 ms | ${quietP95.toFixed(1)} | ${stormP95.toFixed(1)} |`,
      `| feed errors | ${quiet.result.errors} | ${stormy.result.errors} |`,
      `| CPU s: gateway / subgraphs / database | ${cpuOf(quiet)} | ${cpuOf(stormy)} |`,
      '',
      `- likes asked: ${STORM_RATE}/s; sent and answered: ${storm.requests} (${(storm.requests / storm.elapsed).toFixed(0)}/s achieved), ` +
        `${storm.likers ?? 0} acknowledged (${((storm.likers ?? 0) / storm.elapsed).toFixed(0)}/s), ${storm.errors} errors${storm.errorSamples.length ? ` (${storm.errorSamples[0]})` : ''}`,
      `- CPU ms per like answered (storm phase minus its feed requests at the quiet phase's cost; gateway / subgraphs / database): ${extraPerLike}`,
      `- like latency p50 / p95 / p99 ms: ${percentile(likeLatencies, 50).toFixed(1)} / ${percentile(likeLatencies, 95).toFixed(1)} / ${percentile(likeLatencies, 99).toFixed(1)}`,
      `- feed p95 during the storm: ${((stormP95 / quietP95 - 1) * 100).toFixed(0)}% over without (target: within 20%): ${stormP95 <= quietP95 * 1.2 ? 'met' : 'NOT met'}`,
      `- final likeCount ${finalCount} after ${settleSeconds.toFixed(0)} s; distinct likers stored ${likeRows}: ${finalCount === likeRows ? 'exact' : 'NOT exact'}` +
        ` (acknowledged to the client: ${storm.likers ?? 0})`,
    ];
  }

  const fmt = (value: number, digits = 0) =>
    Number.isFinite(value)
      ? value.toLocaleString('en-US', {
          maximumFractionDigits: digits,
          minimumFractionDigits: digits,
        })
      : 'n/a';
  const byKey = (key: string) => summaries.find((s) => s.gateway.key === key);
  const ratio = (value: (s: Summary) => number, to: string) => (s: Summary) => {
    const base = byKey(to);
    return base ? `${(value(s) / value(base)).toFixed(2)}x` : 'n/a';
  };
  const rows: [string, (s: Summary) => string][] = [
    ['requests', (s) => fmt(s.requests)],
    ['errors', (s) => fmt(s.errors)],
    ['requests/s', (s) => fmt(s.perSecond)],
    ['requests per gateway CPU-second', (s) => fmt(s.perCpuSecond)],
    [
      'per CPU-second, spread over rounds',
      (s) => `${fmt(Math.min(...s.perCpuSecondRounds))}–${fmt(Math.max(...s.perCpuSecondRounds))}`,
    ],
    ['idle CPU ms per second (no load)', (s) => fmt(s.idleCpuPerSecond * 1_000, 1)],
    ['requests per CPU-second above idle', (s) => fmt(s.perBusyCpuSecond)],
    ['latency p50 / p95 / p99 ms', (s) => `${fmt(s.p50, 1)} / ${fmt(s.p95, 1)} / ${fmt(s.p99, 1)}`],
    ['feed p95 ms', (s) => fmt(s.feedP95, 1)],
    [
      'gateway read / write system calls per query',
      (s) => `${fmt(s.readCallsPerQuery, 2)} / ${fmt(s.writeCallsPerQuery, 2)}`,
    ],
    ['subgraph requests per query', (s) => fmt(s.subgraphRequestsPerQuery, 2)],
    ['database commands per query', (s) => fmt(s.commandsPerQuery, 2)],
    [
      'of which (subgraph command: per query)',
      (s) =>
        [...s.countsBySubgraphPerQuery]
          .filter(([key, perQuery]) => perQuery >= 0.005 && !key.includes(' cache '))
          .map(([key, perQuery]) => `${key}: ${fmt(perQuery, 2)}`)
          .join(', '),
    ],
    [
      'cache lookups per query (subgraph cache outcome)',
      (s) =>
        [...s.countsBySubgraphPerQuery]
          .filter(([key, perQuery]) => perQuery >= 0.005 && key.includes(' cache '))
          .map(([key, perQuery]) => `${key}: ${fmt(perQuery, 2)}`)
          .join(', '),
    ],
    ['subgraph CPU ms per query (all three)', (s) => fmt(s.subgraphCpuMsPerQuery, 2)],
    [
      'CPU ms per query: feed / likes / comments / Mongo-wire server',
      (s) => BACKEND_PROCESSES.map((name) => fmt(s.backendCpuMsPerQuery[name], 2)).join(' / '),
    ],
    [
      'gateway + subgraph CPU ms per query',
      (s) => fmt(1_000 / s.perCpuSecond + s.subgraphCpuMsPerQuery, 2),
    ],
    ['gateway peak RSS MB', (s) => fmt(s.peakRssMb)],
    ['per CPU-second vs (b)', ratio((s) => s.perCpuSecond, 'apollo')],
    ['per CPU-second vs (c)', ratio((s) => s.perCpuSecond, 'hive')],
    ['per CPU-second vs (d)', ratio((s) => s.perCpuSecond, 'grafbase')],
    ['per CPU-second vs (e)', ratio((s) => s.perCpuSecond, 'floor')],
    ['above idle vs (b)', ratio((s) => s.perBusyCpuSecond, 'apollo')],
    ['above idle vs (c)', ratio((s) => s.perBusyCpuSecond, 'hive')],
    ['above idle vs (d)', ratio((s) => s.perBusyCpuSecond, 'grafbase')],
    ['requests/s vs (b)', ratio((s) => s.perSecond, 'apollo')],
    ['requests/s vs (c)', ratio((s) => s.perSecond, 'hive')],
    ['requests/s vs (d)', ratio((s) => s.perSecond, 'grafbase')],
  ];
  const a = byKey('ours');
  const b = byKey('apollo');
  const c = byKey('hive');
  const d = byKey('grafbase');
  const e = byKey('floor');
  const lines = [
    `## npm run bench (${new Date().toISOString()})`,
    '',
    `${cpus().length} cores, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} at the end; ` +
      'the load generator, the subgraphs, the Mongo-wire server and the gateway share these cores, ' +
      'so compare the gateways by their ratios in this run, not by absolute figures.',
    `Data: ${seeded.userIds.length} users, ${seeded.postIds.length} posts, ${seeded.follows} follows (${args['min-follows']}–${args['max-follows']} each, Zipf-skewed), ` +
      `${seeded.likes} likes, ${seeded.comments} comments (seeded in ${seedSeconds.toFixed(1)} s).`,
    `Workload: ${CONCURRENCY} connections, each request with the token of one of ${seeded.userIds.length} users; ` +
      (WORKLOAD === 'feed'
        ? 'the feed query only (20 posts with author, likeCount, viewerHasLiked, commentCount, comments(first: 2)). '
        : '70% the feed query (20 posts with author, likeCount, viewerHasLiked, commentCount, comments(first: 2)), ' +
          '25% a post page, 5% writes (likePost, unlikePost, addComment). ') +
      `${ROUNDS} rounds of ${SECONDS} s per gateway, in alternation, after 3 s of warm-up each.`,
    '(b) is `@apollo/gateway` + `@apollo/server` standalone with default settings, plus a `willSendRequest` ' +
      'that forwards Authorization; (c) is `@graphql-hive/gateway` with `@graphql-hive/router-runtime`, ' +
      'forwarding Authorization (`propagateHeaders`); (d) is Grafbase (`grafbase dev` 0.103, Rust) composing the ' +
      "subgraphs' SDL, forwarding Authorization, in-flight de-duplication off. Ours runs its rate limiter (budgets raised)." +
      (byKey('floor')
        ? " (e) is no gateway: the feed query's three subgraph requests sent by hand over undici, the answers merged and the client's selection kept, no token check, no GraphQL per request (`bench-floor-gateway.ts`), what sending the same subgraph requests costs a Node process here, with nothing else."
        : ''),
    `Same feed answer from every gateway: ${sameAnswers ? 'yes' : 'NO (see stderr)'}.`,
    '',
    `| | ${summaries.map((s) => s.gateway.label).join(' | ')} |`,
    `| --- | ${summaries.map(() => '---').join(' | ')} |`,
    ...rows.map(([name, value]) => `| ${name} | ${summaries.map(value).join(' | ')} |`),
    '',
    `Subgraph peak RSS MB over the gateways' rounds: ${subgraphNames
      .map((name, i) => `${name} ${fmt(subgraphPeakRssMb[i] ?? 0)}`)
      .join(', ')}.`,
    ...summaries
      .filter((s) => s.errorSamples.length > 0)
      .map((s) => `\nerrors of ${s.gateway.label}: ${s.errorSamples.join(' | ')}`),
    '',
    `Targets: (a) ≥ 3x (b) per gateway CPU-second: ${a && b ? (a.perCpuSecond >= 3 * b.perCpuSecond ? 'met' : 'NOT met') : 'n/a'}; ` +
      `(a) ≥ (c): ${a && c ? (a.perCpuSecond >= c.perCpuSecond ? 'met' : 'NOT met') : 'n/a'}; ` +
      `(a) ≥ half of (d): ${a && d ? (a.perCpuSecond >= d.perCpuSecond / 2 ? 'met' : 'NOT met') : 'n/a'}.` +
      (e && b
        ? ` The floor (e) is ${(e.perCpuSecond / b.perCpuSecond).toFixed(2)}x (b) and ${(e.perCpuSecond / (a?.perCpuSecond ?? NaN)).toFixed(2)}x (a).`
        : ''),
    ...stormLines,
  ];
  const report = lines.join('\n');
  console.log(report);
  const out = projectPath(args.out ?? '.data/bench.md');
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, `${report}\n`);
  say(`written to ${out}`);
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await Promise.allSettled([mongoServer.stop(), nats.stop(), redis.stop()]);
}
