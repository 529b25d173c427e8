import type { ApolloServer } from '@apollo/server';
import { parse, type DocumentNode } from 'graphql';
import type { Logger } from '../../platform/logger.js';
import type { Metrics } from '../../platform/metrics.js';
import type { EventClients } from '../../platform/pubsub.js';
import { checkResponseSize } from '../../platform/request-limits.js';
import type { GatewayContext } from '../context.js';
import { CommentStreams } from './comment-stream.js';
import { anonymous, FollowUps } from './follow-ups.js';
import { PostCountsHub, type Counts } from './post-counts.js';
import type { AcceptedSubscription, Deliver, RootEventSource } from './root-event-source.js';
import { rootEventSources } from './root-event-sources.js';
import { SharedSubscriptions } from './shared-subscriptions.js';

export interface LiveSubscriptionsOptions {
  /** The gateway's request pipeline, for follow-up queries; called only once requests flow. */
  apollo: () => ApolloServer<GatewayContext>;
  /** Live events (the engine) and durable ones (JetStream, replayed after an outage). */
  events: EventClients;
  metrics: Metrics;
  logger: Logger;
  /** The most pushes of one post's counts per second. */
  pushesPerSecond: number;
  /** Whether a follow-up document has a field whose value depends on who asks. */
  dependsOnViewer: (document: DocumentNode) => boolean;
  /** `MAX_RESPONSE_BYTES`: an event's payload past it is replaced by a QUERY_TOO_COMPLEX error. */
  maxResponseBytes: number;
}

const COUNTS_QUERY = parse(
  'query SubscriptionCounts($ids: [ID!]!) { postCounts(postIds: $ids) { postId likeCount commentCount } }',
);

/**
 * The subscriptions of this gateway process, whatever their transport: reference-counted engine
 * subscriptions, coalesced counts, follow-ups shared per event, and the root event source of each
 * `Subscription` field.
 */
export class LiveSubscriptions {
  private readonly shared: SharedSubscriptions;
  private readonly commentStreams: CommentStreams;
  private readonly sources: Map<string, RootEventSource>;
  /** The last payload checked for size, and what is sent for it. */
  private lastPayload: string | undefined;
  private lastSent = '';

  constructor(private readonly options: LiveSubscriptionsOptions) {
    const { metrics } = options;
    this.shared = new SharedSubscriptions(options.events.pubsub, (size) =>
      metrics.engineSubscriptions.set(size),
    );
    const followUps = new FollowUps(options.apollo, options.logger, options.dependsOnViewer);
    const fetchCounts = async (postIds: string[]): Promise<Map<string, Counts>> => {
      const result = await followUps.run(COUNTS_QUERY, { ids: postIds }, anonymous());
      const rows = (result.data?.postCounts ?? null) as ({ postId: string } & Counts)[] | null;
      if (!rows)
        throw new Error(`current counts unavailable: ${result.errors?.[0]?.message ?? 'no data'}`);
      return new Map(
        rows.map((row) => [
          row.postId,
          { likeCount: row.likeCount, commentCount: row.commentCount },
        ]),
      );
    };
    const minPushIntervalMs = Math.ceil(1_000 / options.pushesPerSecond);
    const counts = new PostCountsHub(this.shared, fetchCounts, minPushIntervalMs);
    this.commentStreams = new CommentStreams(options.events);
    this.sources = rootEventSources({
      shared: this.shared,
      counts,
      commentStreams: this.commentStreams,
      followUps,
      minPushIntervalMs,
    });
  }

  /** Engine subscriptions open in this process (one per topic and watched post). */
  engineSubscriptions(): number {
    return this.shared.size + this.commentStreams.size;
  }

  /** The source of a `Subscription` field, if the gateway serves it. */
  source(field: string): RootEventSource | undefined {
    return this.sources.get(field);
  }

  /**
   * The payload, or in its place `{"data": null, "errors": [QUERY_TOO_COMPLEX]}` when it is past
   * the size limit. Only that event is replaced: the subscription goes on, and a later event that
   * fits is delivered. Every subscriber of a selection is handed the same string, so the last
   * one's verdict is kept (and an oversized event is logged once, not per subscriber).
   */
  private sized(payload: string): string {
    if (payload === this.lastPayload) return this.lastSent;
    const oversized = checkResponseSize(payload, this.options.maxResponseBytes);
    if (oversized)
      this.options.logger.warn(
        { bytes: oversized.bytes },
        'subscription event over the size limit',
      );
    this.lastPayload = payload;
    this.lastSent = oversized ? JSON.stringify({ data: null, errors: [oversized.error] }) : payload;
    return this.lastSent;
  }

  /** Starts an accepted subscription; resolves with the function that stops it. */
  async start(subscription: AcceptedSubscription, deliver: Deliver): Promise<() => Promise<void>> {
    const source = this.sources.get(subscription.field.name.value) as RootEventSource;
    const { metrics, logger } = this.options;
    metrics.subscriptions.inc();
    try {
      const stop = await source.start(subscription, (payload) => deliver(this.sized(payload)));
      let stopped = false;
      return async () => {
        if (stopped) return;
        stopped = true;
        metrics.subscriptions.dec();
        await stop();
      };
    } catch (error) {
      metrics.subscriptions.dec();
      logger.error({ err: error }, 'subscription failed to start');
      throw error;
    }
  }
}
