import { setTimeout as delay } from 'node:timers/promises';
import WebSocket from 'ws';

/**
 * The subscribers of `npm run bench:live`, a process of their own (forked, several at once) so
 * that receiving pushes never shares an event loop with publishing the events: in one process,
 * the publisher's ticks delayed the reading of pushes and counted as gateway latency.
 *
 * Messages from the parent: `{ type: 'start', plan }` connects and subscribes every socket, then
 * answers `ready`; `measure` starts recording; `stop` answers `result` with every push received
 * while measuring, as [post index, likeCount, time received] (ms since the epoch, fractional).
 */
export interface SubscriberPlan {
  wsUrl: string;
  tokens: string[];
  /** posts[0] is the hot post every subscriber watches; subscriber i also watches posts[1 + i % (n - 1)]. */
  posts: string[];
  /** This process's first subscriber number. */
  first: number;
}

export type ToSubscribers = { type: 'start'; plan: SubscriberPlan } | { type: 'measure' | 'stop' };

export type FromSubscribers =
  | { type: 'ready' }
  | { type: 'failed'; problems: string[] }
  | { type: 'result'; pushes: number[]; problems: string[] };

const now = () => performance.timeOrigin + performance.now();
const sockets: WebSocket[] = [];
const problems: string[] = [];
/** Flat triples: post index, likeCount, time received. */
const pushes: number[] = [];
let measuring = false;
let stopped = false;
let initial = 0;

function send(message: FromSubscribers): void {
  process.send?.(message);
}

async function start(plan: SubscriberPlan): Promise<void> {
  const postIndex = new Map(plan.posts.map((id, i) => [id, i]));
  const [hot, ...others] = plan.posts as [string, ...string[]];
  for (const [n, token] of plan.tokens.entries()) {
    const i = plan.first + n;
    const socket = new WebSocket(plan.wsUrl, 'graphql-transport-ws');
    sockets.push(socket);
    socket.on('open', () =>
      socket.send(
        JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }),
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
      if (!measuring) {
        initial++;
        return;
      }
      const counts = message.payload.data.postCountsChanged as {
        postId: string;
        likeCount: number;
      };
      pushes.push(postIndex.get(counts.postId) ?? -1, counts.likeCount, now());
    });
    socket.on('close', (code) => {
      if (!stopped) problems.push(`socket ${i} closed with ${code}`);
    });
    socket.on('error', (error) => problems.push(`socket ${i}: ${error.message}`));
    // Connect in waves, each acknowledged before the next: a burst of thousands of handshakes
    // would overflow the listen backlog, which measures the kernel, not the gateway.
    if (n % 250 === 249) {
      const waveDeadline = Date.now() + 30_000;
      while (initial < 2 * (n + 1) && problems.length === 0 && Date.now() < waveDeadline)
        await delay(20);
    }
  }
  const deadline = Date.now() + 60_000;
  while (initial < 2 * plan.tokens.length && Date.now() < deadline) await delay(100);
  if (initial < 2 * plan.tokens.length) {
    problems.unshift(`only ${initial} of ${2 * plan.tokens.length} initial pushes arrived`);
    send({ type: 'failed', problems: problems.slice(0, 5) });
  } else send({ type: 'ready' });
}

process.on('message', (message: ToSubscribers) => {
  if (message.type === 'start') void start(message.plan);
  else if (message.type === 'measure') measuring = true;
  else {
    measuring = false;
    stopped = true;
    for (const socket of sockets) socket.terminate();
    // The parent ends this process once it has the result.
    send({ type: 'result', pushes, problems: problems.slice(0, 20) });
  }
});
