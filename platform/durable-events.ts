import { AckPolicy, DeliverPolicy, JSONCodec, nanos, type NatsConnection } from 'nats';
import {
  streamName,
  subject,
  topicWildcard,
  type AssetEvent,
  type DurableTopic,
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
): Promise<void> {
  const counted = { topic, direction: 'published' };
  try {
    await events.nats.nc
      .jetstream()
      .publish(subject(events.prefix, topic, key), codec.encode(event), {
        msgID: event.eventId,
        timeout: 5_000,
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
  });
  const consumer = await nc.jetstream().consumers.get(stream, durable);
  const messages = await consumer.consume({ max_messages: 100 });
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
