import { Agent, request } from 'node:http';
import { COMMENT, FEED_QUERY, LIKE, POST_QUERY, UNLIKE } from './bench-queries.js';

/**
 * The load generator of `npm run bench`, a process of its own so that its CPU is not the
 * gateway's: reads a `LoadPlan` as JSON on stdin, runs it against one gateway and
 * prints a `LoadResult` as JSON on stdout.
 *
 * - `mixed`: closed loop, `concurrency` virtual users on keep-alive connections, each request
 *   signed by its own user (virtual user k takes users k, k+concurrency, ... in turn, so every
 *   seeded user is a viewer): the feed query, a post-detail query and a `writeShare` of writes
 *   (likes, unlikes, comments).
 * - `feed`: the same loop, feed queries only.
 * - `storm`: open loop, `rate` likePost mutations a second on one post, each by a new user,
 *   with at most `maxInFlight` outstanding (a request that would exceed it is not sent).
 */
export interface LoadPlan {
  mode: 'mixed' | 'feed' | 'storm';
  url: string;
  seconds: number;
  concurrency: number;
  /**
   * One token per seeded user, signed once for the whole run, as a client holds its token for
   * its lifetime: signed afresh per phase, most requests carried a token the gateway had never
   * verified, which no real client does.
   */
  tokens: string[];
  postIds: string[];
  writeShare: number;
  postShare: number;
  /**
   * `tokens`: one per like, each of a new user, signed by the caller before the run: signed here,
   * the signing of 100,000 tokens took half a core from the measured storm.
   */
  storm?: { postId: string; rate: number; tokens: string[]; maxInFlight: number };
}

export interface LoadResult {
  elapsed: number;
  requests: number;
  errors: number;
  errorSamples: string[];
  /** Latencies in ms by kind (feed, post, write, like). */
  latencies: Record<string, number[]>;
  /** storm: users whose like was acknowledged without error. */
  likers?: number;
}

interface Sent {
  ok: boolean;
  ms: number;
  detail: string;
}

function post(agent: Agent, url: URL, token: string, body: string): Promise<Sent> {
  const started = performance.now();
  return new Promise((resolve) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          authorization: `Bearer ${token}`,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          // A GraphQL error anywhere in the body makes the request a failure, partial data or not.
          const ok = res.statusCode === 200 && !text.includes('"errors":');
          resolve({
            ok,
            ms: performance.now() - started,
            detail: ok ? '' : `${res.statusCode} ${text.slice(0, 300)}`,
          });
        });
      },
    );
    req.on('error', (error) =>
      resolve({ ok: false, ms: performance.now() - started, detail: error.message }),
    );
    req.end(body);
  });
}

async function runLoad(plan: LoadPlan): Promise<LoadResult> {
  const url = new URL(plan.url);
  const { tokens } = plan;
  const latencies: Record<string, number[]> = { feed: [], post: [], write: [] };
  const errorSamples: string[] = [];
  let requests = 0;
  let errors = 0;
  const record = (kind: string, sent: Sent) => {
    requests++;
    (latencies[kind] as number[]).push(Math.round(sent.ms * 100) / 100);
    if (!sent.ok) {
      errors++;
      if (errorSamples.length < 5) errorSamples.push(`${kind}: ${sent.detail}`);
    }
  };
  const agent = new Agent({ keepAlive: true, maxSockets: plan.concurrency });
  const started = performance.now();
  const deadline = started + plan.seconds * 1_000;
  let seed = 1;
  // A fixed pseudo-random sequence per run: every gateway gets the same mix of requests.
  const next = () => ((seed = (seed * 48271) % 2147483647) - 1) / 2147483646;

  async function virtualUser(k: number) {
    for (let turn = 0; performance.now() < deadline; turn++) {
      const user = (k + turn * plan.concurrency) % tokens.length;
      const token = tokens[user] as string;
      const roll = plan.mode === 'feed' ? 1 : next();
      const postId = plan.postIds[Math.floor(next() * plan.postIds.length)] as string;
      if (roll < plan.writeShare) {
        const which = roll / plan.writeShare;
        const body =
          which < 0.6
            ? JSON.stringify({ query: LIKE, variables: { id: postId } })
            : which < 0.8
              ? JSON.stringify({ query: UNLIKE, variables: { id: postId } })
              : JSON.stringify({ query: COMMENT, variables: { id: postId, body: 'Nice one' } });
        record('write', await post(agent, url, token, body));
      } else if (roll < plan.writeShare + plan.postShare) {
        const body = JSON.stringify({ query: POST_QUERY, variables: { id: postId } });
        record('post', await post(agent, url, token, body));
      } else {
        record('feed', await post(agent, url, token, JSON.stringify({ query: FEED_QUERY })));
      }
    }
  }

  await Promise.all(Array.from({ length: plan.concurrency }, (_, k) => virtualUser(k)));
  agent.destroy();
  return {
    elapsed: (performance.now() - started) / 1_000,
    requests,
    errors,
    errorSamples,
    latencies,
  };
}

async function runStorm(plan: LoadPlan): Promise<LoadResult> {
  const storm = plan.storm;
  if (!storm) throw new Error('storm plan without storm settings');
  const url = new URL(plan.url);
  const { tokens } = storm;
  const total = Math.min(tokens.length, Math.ceil(storm.rate * plan.seconds));
  const body = JSON.stringify({ query: LIKE, variables: { id: storm.postId } });
  const agent = new Agent({ keepAlive: true, maxSockets: storm.maxInFlight });
  const latencies: number[] = [];
  const errorSamples: string[] = [];
  let errors = 0;
  let inFlight = 0;
  let likers = 0;
  let sent = 0;
  const pending = new Set<Promise<void>>();
  const started = performance.now();
  const tickMs = 5;
  for (let tick = 1; sent < total; tick++) {
    const due = Math.min(total, Math.floor((tick * tickMs * storm.rate) / 1_000));
    while (sent < due && inFlight < storm.maxInFlight) {
      const token = tokens[sent] as string;
      sent++;
      inFlight++;
      const done = post(agent, url, token, body).then((result) => {
        inFlight--;
        latencies.push(Math.round(result.ms * 100) / 100);
        if (result.ok) likers++;
        else {
          errors++;
          if (errorSamples.length < 5) errorSamples.push(`like: ${result.detail}`);
        }
      });
      pending.add(done);
      void done.then(() => pending.delete(done));
    }
    // Behind schedule because the gateway is saturated: the missed sends are dropped, not queued.
    if (sent < due) sent = due;
    const wait = started + tick * tickMs - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    if (performance.now() - started > plan.seconds * 1_000) break;
  }
  await Promise.all(pending);
  agent.destroy();
  return {
    elapsed: (performance.now() - started) / 1_000,
    requests: latencies.length,
    errors,
    errorSamples,
    latencies: { like: latencies },
    likers,
  };
}

const input: Buffer[] = [];
for await (const chunk of process.stdin) input.push(chunk as Buffer);
const plan = JSON.parse(Buffer.concat(input).toString('utf8')) as LoadPlan;
const result = plan.mode === 'storm' ? await runStorm(plan) : await runLoad(plan);
process.stdout.write(JSON.stringify(result));
