import { RedisPubSub } from 'graphql-redis-subscriptions';
import { Redis } from 'ioredis';
import { connect, JSONCodec, type NatsConnection } from 'nats';
import { subject, type Topics } from './events.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

export type LiveTopic = 'likes' | 'comments' | 'notifications';

/**
 * Live events (like and comment counts, new comments) from the subgraphs that write them to the
 * gateways that push them to clients. Losing one only delays a screen until the next, which
 * carries absolute counts, so plain pub/sub is enough. One interface, two engines: NATS (the
 * default) and Redis; the same tests run against both.
 */
export interface PubSub {
  readonly engine: 'nats' | 'redis';
  /** Best effort: never rejects; a failure is logged and the next event repairs the screen. */
  publish<T extends LiveTopic>(topic: T, event: Topics[T]): Promise<void>;
  /** Resolves once the engine has registered the subscription; `key` is liveKey's. */
  subscribe<T extends LiveTopic>(
    topic: T,
    key: string,
    handler: (event: Topics[T]) => void,
  ): Promise<() => Promise<void>>;
  /** True while connected to its server. */
  connected(): boolean;
  close(): Promise<void>;
}

export interface PubSubOptions {
  engine: 'nats' | 'redis';
  /** The process's NATS connection, which the NATS engine shares. */
  nats: Nats;
  redisUrl: string;
  /** Starts every subject or channel: tests use a random one each. */
  prefix: string;
  /** Names the connection on the server, for operators. */
  name: string;
  logger: Logger;
  metrics: Metrics;
}

export function createPubSub(options: PubSubOptions): Promise<PubSub> {
  return options.engine === 'redis' ? redisPubSub(options) : natsPubSub(options);
}

export interface Nats {
  nc: NatsConnection;
  /** False from a reported disconnect until the client reports it is back. */
  connected(): boolean;
}

/** A NATS connection that reconnects forever: a restarted server costs events, never the process. */
export async function connectNats(url: string, name: string, logger: Logger): Promise<Nats> {
  const nc = await connect({
    servers: url,
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    pingInterval: 10_000,
  });
  let up = true;
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') up = false;
      if (status.type === 'reconnect') up = true;
      if (status.type === 'disconnect' || status.type === 'reconnect') {
        logger.warn({ server: status.data }, `nats ${status.type}`);
      }
    }
  })();
  return { nc, connected: () => up && !nc.isClosed() };
}

/** Live events are keyed by post, notifications by their recipient. */
function liveKey(event: Topics[LiveTopic]): string {
  return 'recipientId' in event ? event.recipientId : event.postId;
}

/** What an engine does; `instrumented` adds what every engine shares. */
interface Engine {
  engine: PubSub['engine'];
  publish(subject: string, event: object): Promise<void> | void;
  subscribe(subject: string, handler: (event: never) => void): Promise<() => Promise<void>>;
  connected(): boolean;
  close(): Promise<void>;
}

/** Subjects from the prefix, counted events, and publishing that never fails the caller. */
function instrumented(engine: Engine, options: PubSubOptions): PubSub {
  return {
    engine: engine.engine,
    async publish(topic, event) {
      try {
        await engine.publish(subject(options.prefix, topic, liveKey(event)), event);
        options.metrics.events.inc({ topic, direction: 'published', outcome: 'ok' });
      } catch (error) {
        options.metrics.events.inc({ topic, direction: 'published', outcome: 'failed' });
        options.logger.warn({ err: error, topic }, 'live event not published');
      }
    },
    subscribe(topic, key, handler) {
      // Bound once: the handler runs for every event of a post that may take thousands a second.
      const consumed = options.metrics.events.labels({
        topic,
        direction: 'consumed',
        outcome: 'ok',
      });
      return engine.subscribe(
        subject(options.prefix, topic, key),
        (event: Topics[typeof topic]) => {
          consumed.inc();
          handler(event);
        },
      );
    },
    connected: () => engine.connected(),
    close: () => engine.close(),
  };
}

async function natsPubSub(options: PubSubOptions): Promise<PubSub> {
  const { nc, connected } = options.nats;
  const codec = JSONCodec();
  return instrumented(
    {
      engine: 'nats',
      publish: (to, event) => nc.publish(to, codec.encode(event)),
      async subscribe(from, handler) {
        const subscription = nc.subscribe(from, {
          callback: (error, message) => {
            if (!error) handler(codec.decode(message.data) as never);
          },
        });
        // The server knows the subscription once it has seen what was sent before this flush.
        await nc.flush();
        return async () => subscription.unsubscribe();
      },
      connected,
      // The connection belongs to the process, which closes it.
      async close() {},
    },
    options,
  );
}

async function redisPubSub(options: PubSubOptions): Promise<PubSub> {
  // Separate connections: a Redis connection in subscriber mode can do nothing else.
  const redisOptions = {
    connectionName: options.name,
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt: number) => Math.min(attempt * 100, 2_000),
  };
  const publisher = new Redis(options.redisUrl, redisOptions);
  const subscriber = new Redis(options.redisUrl, redisOptions);
  for (const client of [publisher, subscriber]) {
    client.on('error', (error: Error) =>
      options.logger.warn({ err: error }, 'redis pub/sub error'),
    );
  }
  const pubsub = new RedisPubSub({ publisher, subscriber });
  return instrumented(
    {
      engine: 'redis',
      publish: (to, event) => pubsub.publish(to, event),
      async subscribe(from, handler) {
        const id = await pubsub.subscribe(from, handler);
        return async () => pubsub.unsubscribe(id);
      },
      connected: () => publisher.status === 'ready' && subscriber.status === 'ready',
      async close() {
        await pubsub.close();
      },
    },
    options,
  );
}

export interface EventClients {
  nats: Nats;
  pubsub: PubSub;
  prefix: string;
  metrics: Metrics;
  logger: Logger;
  close(): Promise<void>;
}

/** The process's NATS connection and its live pub/sub engine, closed together. */
export async function connectEvents(options: {
  natsUrl: string;
  redisUrl: string;
  engine: 'nats' | 'redis';
  prefix: string;
  name: string;
  logger: Logger;
  metrics: Metrics;
}): Promise<EventClients> {
  const nats = await connectNats(options.natsUrl, options.name, options.logger);
  const pubsub = await createPubSub({ ...options, nats });
  return {
    nats,
    pubsub,
    prefix: options.prefix,
    metrics: options.metrics,
    logger: options.logger,
    async close() {
      await pubsub.close();
      await nats.nc.drain();
    },
  };
}
