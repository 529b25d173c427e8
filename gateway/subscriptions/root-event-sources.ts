import { commentAdded } from './comment-added.js';
import type { CommentStreams } from './comment-stream.js';
import type { FollowUps } from './follow-ups.js';
import { notificationsChanged } from './notifications-changed.js';
import type { PostCountsHub } from './post-counts.js';
import { postCountsChanged } from './post-counts-changed.js';
import type { RootEventSource } from './root-event-source.js';
import type { SharedSubscriptions } from './shared-subscriptions.js';

/** What a root event source may build on: this process's engine subscriptions and follow-ups. */
export interface RootEventSourceDeps {
  shared: SharedSubscriptions;
  counts: PostCountsHub;
  commentStreams: CommentStreams;
  followUps: FollowUps;
  /** The least time between two pushes of one coalesced value (counts, a badge). */
  minPushIntervalMs: number;
}

/** Every `Subscription` field the gateway serves, by name: one line per source. */
export function rootEventSources(deps: RootEventSourceDeps): Map<string, RootEventSource> {
  const sources = [
    postCountsChanged(deps.counts, deps.followUps),
    commentAdded(deps.commentStreams, deps.followUps),
    notificationsChanged(deps.shared, deps.followUps, deps.minPushIntervalMs),
  ];
  return new Map(sources.map((source) => [source.field, source]));
}
