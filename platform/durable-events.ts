import { AckPolicy, DeliverPolicy, JSONCodec, nanos, type NatsConnection } from 'nats';
import { postsStreamName, subject, topicWildcard, type PostEvent } from './events.js';
import type { EventClients } from './pubsub.js';

/**
 * Events whose loss would leave data wrong (a deleted post whose likes and comments must go) travel
 * on JetStream: stored until every durable consumer has acknowledged them, and deduplicated on
 * `eventId`, so a publisher that retries after a crash cannot make a consumer act twice.
 */
const codec = JSONCodec<PostEvent>();
const DEDUP_WINDOW_MS = 10 * 60_000;

export async function ensurePostsStream(nc: NatsConnection, prefix: string): Promise<void> {
  const jsm = await nc.jetstreamManager();
  const config = {
    name: postsStreamName(prefix),
    subjects: [topicWildcard(prefix, 'posts')],
    duplicate_window: nanos(DEDUP_WINDOW_MS),
    max_age: nanos(7 * 24 * 3_600_000),
  };
  try {
    await jsm.streams.info(config.name);
  } catch {
    await jsm.streams.add(config);
  }
}

export async function publishPostEvent(events: EventClients, event: PostEvent): Promise<void> {
  const counted = { topic: 'posts', direction: 'published' };
  try {
    await events.nats.nc
      .jetstream()
      .publish(subject(events.prefix, 'posts', event.postId), codec.encode(event), {
        msgID: event.eventId,
        timeout: 5_000,
      });
    events.metrics.events.inc({ ...counted, outcome: 'ok' });
  } catch (error) {
    events.metrics.events.inc({ ...counted, outcome: 'failed' });
    throw error;
  }
}

/**
 * Runs `handle` for every post event, as the durable consumer `durable`: an event is acknowledged
 * only after `handle` resolves, so one that fails or dies with the process comes again.
 * Handlers must therefore be idempotent. Returns a stop function.
 */
export async function consumePostEvents(
  events: EventClients,
  durable: string,
  handle: (event: PostEvent) => Promise<void>,
): Promise<() => Promise<void>> {
  const { nc } = events.nats;
  await ensurePostsStream(nc, events.prefix);
  const stream = postsStreamName(events.prefix);
  const jsm = await nc.jetstreamManager();
  await jsm.consumers.add(stream, {
    durable_name: durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(30_000),
    max_deliver: -1,
  });
  const consumer = await nc.jetstream().consumers.get(stream, durable);
  const messages = await consumer.consume({ max_messages: 100 });
  const counted = { topic: 'posts', direction: 'consumed' };
  const done = (async () => {
    for await (const message of messages) {
      try {
        await handle(codec.decode(message.data));
        message.ack();
        events.metrics.events.inc({ ...counted, outcome: 'ok' });
      } catch (error) {
        events.metrics.events.inc({ ...counted, outcome: 'failed' });
        events.logger.error(
          { err: error, subject: message.subject },
          'post event failed; redelivering',
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
