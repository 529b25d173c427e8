import { AckPolicy, DeliverPolicy, JSONCodec, nanos, type JsMsg, type NatsConnection } from 'nats';
import { setTimeout as delay } from 'node:timers/promises';
import { shardOfUser } from './ids.js';
import {
  streamName,
  subject,
  topicWildcard,
  type AssetEvent,
  type CommentActivity,
  type DurableTopic,
  type FollowEvent,
  type LikeActivity,
  type PostEvent,
  type Topics,
} from './events.js';
import type { EventClients } from './pubsub.js';

/**
 * Events whose loss would leave data wrong (a deleted post whose likes and comments must go, an
 * upload whose metadata must be extracted) travel on JetStream: stored until every durable consumer
 * has acknowledged them, and deduplicated on `eventId`, so a publisher that retries after a crash
 * cannot make a consumer act twice.
 */
const codec = JSONCodec<Topics[DurableTopic]>();
const DEDUP_WINDOW_MS = 10 * 60_000;

async function ensureStream(nc: NatsConnection, prefix: string, topic: DurableTopic) {
  const jsm = await nc.jetstreamManager();
  const config = {
    name: streamName(prefix, topic),
    subjects: [topicWildcard(prefix, topic)],
    duplicate_window: nanos(DEDUP_WINDOW_MS),
    max_age: nanos(7 * 24 * 3_600_000),
  };
  try {
    await jsm.streams.info(config.name);
  } catch {
    await jsm.streams.add(config);
  }
}

async function publishDurable<T extends DurableTopic>(
  events: EventClients,
  topic: T,
  key: string,
  event: Topics[T],
  timeoutMs = 5_000,
): Promise<void> {
  const counted = { topic, direction: 'published' };
  try {
    await events.nats.nc
      .jetstream()
      .publish(subject(events.prefix, topic, key), codec.encode(event), {
        msgID: event.eventId,
        timeout: timeoutMs,
      });
    events.metrics.events.inc({ ...counted, outcome: 'ok' });
  } catch (error) {
    events.metrics.events.inc({ ...counted, outcome: 'failed' });
    throw error;
  }
}

export function publishPostEvent(events: EventClients, event: PostEvent): Promise<void> {
  return publishDurable(events, 'posts', event.postId, event);
}

/** The stream exists once the feed's consumer has started, which precedes any upload. */
export function publishAssetEvent(events: EventClients, event: AssetEvent): Promise<void> {
  return publishDurable(events, 'assets', event.assetId, event);
}

/**
 * A like, comment or follow is announced inside its request, and the repair pass announces again
 * whatever did not make it: a short timeout keeps a struggling NATS from holding writes.
 */
const ACTIVITY_TIMEOUT_MS = 2_000;

export function publishLikeActivity(events: EventClients, event: LikeActivity): Promise<void> {
  return publishDurable(events, 'post-likes', event.postId, event, ACTIVITY_TIMEOUT_MS);
}

export function publishCommentActivity(
  events: EventClients,
  event: CommentActivity,
): Promise<void> {
  return publishDurable(events, 'post-comments', event.postId, event, ACTIVITY_TIMEOUT_MS);
}

/** Keyed by the followee's logical shard: user ids may hold dots, which split NATS subjects. */
export function publishFollowEvent(events: EventClients, event: FollowEvent): Promise<void> {
  return publishDurable(
    events,
    'follows',
    String(shardOfUser(event.followeeId)),
    event,
    ACTIVITY_TIMEOUT_MS,
  );
}

/**
 * Announces a write from inside its request: true once JetStream has it; false, logged, when NATS
 * is away (at once, rather than after a publish timeout) or the publish fails. The writer then
 * leaves its row unsynced, and the repair pass announces it again under the same event id.
 */
export async function tryAnnounce(
  events: EventClients,
  what: string,
  publish: () => Promise<void>,
): Promise<boolean> {
  if (!events.nats.connected()) return false;
  try {
    await publish();
    return true;
  } catch (error) {
    events.logger.warn({ err: error }, `${what} not announced yet; the repair pass will`);
    return false;
  }
}

/** The durable consumer `durable` of a topic's stream, both created when missing. */
async function durableMessages<T extends DurableTopic>(
  events: EventClients,
  topic: T,
  durable: string,
  ackWaitMs: number,
  inFlight: number,
) {
  const { nc } = events.nats;
  await ensureStream(nc, events.prefix, topic);
  const stream = streamName(events.prefix, topic);
  const jsm = await nc.jetstreamManager();
  await jsm.consumers.add(stream, {
    durable_name: durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(ackWaitMs),
    max_deliver: -1,
    max_ack_pending: inFlight * 2,
  });
  const consumer = await nc.jetstream().consumers.get(stream, durable);
  return consumer.consume({ max_messages: inFlight });
}

/**
 * Runs `handle` for every event of a durable topic, as the durable consumer `durable`: an event is
 * acknowledged only after `handle` resolves, so one that fails or dies with the process comes
 * again. Handlers must therefore be idempotent. Returns a stop function.
 */
async function consumeDurable<T extends DurableTopic>(
  events: EventClients,
  topic: T,
  durable: string,
  handle: (event: Topics[T]) => Promise<void>,
  ackWaitMs: number,
): Promise<() => Promise<void>> {
  const messages = await durableMessages(events, topic, durable, ackWaitMs, 100);
  const counted = { topic, direction: 'consumed' };
  const done = (async () => {
    for await (const message of messages) {
      try {
        await handle(codec.decode(message.data) as Topics[T]);
        message.ack();
        events.metrics.events.inc({ ...counted, outcome: 'ok' });
      } catch (error) {
        events.metrics.events.inc({ ...counted, outcome: 'failed' });
        events.logger.error(
          { err: error, subject: message.subject },
          `${topic} event failed; redelivering`,
        );
        message.nak(1_000);
      }
    }
  })();
  return async () => {
    await messages.close();
    await done;
  };
}

export function consumePostEvents(
  events: EventClients,
  durable: string,
  handle: (event: PostEvent) => Promise<void>,
): Promise<() => Promise<void>> {
  return consumeDurable(events, 'posts', durable, handle, 30_000);
}

/** Extracting a long video's metadata takes a while: a longer ack wait avoids a second worker. */
export function consumeAssetEvents(
  events: EventClients,
  durable: string,
  handle: (event: AssetEvent) => Promise<void>,
): Promise<() => Promise<void>> {
  return consumeDurable(events, 'assets', durable, handle, 120_000);
}

/**
 * Group commit for a durable consumer: events that arrive while `handle` runs wait and go to the
 * next call together, so a storm of thousands of events a second costs one call per call's
 * duration, not one per event, and a quiet topic still gets each event at once. A batch is
 * acknowledged once `handle` resolves and redelivered whole if it fails: `handle` must be
 * idempotent. Returns a stop function.
 */
export async function consumeDurableBatches<T extends DurableTopic>(
  events: EventClients,
  topic: T,
  durable: string,
  handle: (batch: Topics[T][]) => Promise<void>,
  options: {
    ackWaitMs?: number;
    maxBatch?: number;
    /**
     * At most one batch per this many milliseconds: the first event after a quiet spell goes at
     * once, and a storm's writes are bounded by time rather than by how fast the last batch was.
     */
    minIntervalMs?: number;
  } = {},
): Promise<() => Promise<void>> {
  const maxBatch = options.maxBatch ?? 5_000;
  const messages = await durableMessages(
    events,
    topic,
    durable,
    options.ackWaitMs ?? 30_000,
    maxBatch,
  );
  const counted = { topic, direction: 'consumed' };
  const waiting: JsMsg[] = [];
  let flushing: Promise<void> | undefined;
  let lastBatchAt = -Infinity;
  async function flush() {
    while (waiting.length > 0) {
      // A clock that only goes forward: a step back of the wall clock would hold the next batch
      // until it caught up.
      const wait = lastBatchAt + (options.minIntervalMs ?? 0) - performance.now();
      if (wait > 0) await delay(wait);
      lastBatchAt = performance.now();
      const batch = waiting.splice(0, maxBatch);
      try {
        await handle(batch.map((message) => codec.decode(message.data) as Topics[T]));
        for (const message of batch) message.ack();
        events.metrics.events.inc({ ...counted, outcome: 'ok' }, batch.length);
      } catch (error) {
        events.metrics.events.inc({ ...counted, outcome: 'failed' }, batch.length);
        events.logger.error(
          { err: error, topic, events: batch.length },
          'batch failed; redelivering',
        );
        for (const message of batch) message.nak(1_000);
      }
    }
    flushing = undefined;
  }
  const done = (async () => {
    for await (const message of messages) {
      waiting.push(message);
      flushing ??= flush();
    }
  })();
  return async () => {
    await messages.close();
    await done;
    await flushing;
  };
}

/**
 * Every event of one key of a durable topic from now on, in order and once each, across
 * reconnections: an ordered consumer remembers the last stream sequence it delivered and, when the
 * server or the connection comes back, resumes from the next one, so events stored meanwhile are
 * replayed rather than lost. For readers that hold no state of their own (live subscriptions).
 */
export async function followDurable<T extends DurableTopic>(
  events: EventClients,
  topic: T,
  key: string,
  handle: (event: Topics[T]) => void,
): Promise<() => Promise<void>> {
  const { nc } = events.nats;
  await ensureStream(nc, events.prefix, topic);
  const consumer = await nc.jetstream().consumers.get(streamName(events.prefix, topic), {
    filterSubjects: subject(events.prefix, topic, key),
    deliver_policy: DeliverPolicy.New,
  });
  const messages = await consumer.consume();
  const done = (async () => {
    for await (const message of messages) handle(codec.decode(message.data) as Topics[T]);
  })();
  return async () => {
    await messages.close();
    await done;
  };
}
