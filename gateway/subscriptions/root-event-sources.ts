import { commentAdded } from './comment-added.js';
import type { FollowUps } from './follow-ups.js';
import type { PostCountsHub } from './post-counts.js';
import { postCountsChanged } from './post-counts-changed.js';
import type { RootEventSource } from './root-event-source.js';
import type { SharedSubscriptions } from './shared-subscriptions.js';

/** What a root event source may build on: this process's engine subscriptions and follow-ups. */
export interface RootEventSourceDeps {
  shared: SharedSubscriptions;
  counts: PostCountsHub;
  followUps: FollowUps;
}

/** Every `Subscription` field the gateway serves, by name: one line per source. */
export function rootEventSources(deps: RootEventSourceDeps): Map<string, RootEventSource> {
  const sources = [
    postCountsChanged(deps.counts, deps.followUps),
    commentAdded(deps.shared, deps.followUps),
  ];
  return new Map(sources.map((source) => [source.field, source]));
}
