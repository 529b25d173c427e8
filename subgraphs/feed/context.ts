import type { RequestBase } from '../../platform/subgraph.js';
import { feedLoaders, type FeedLoaders } from './loaders.js';
import type { FeedEvents } from './events.js';
import type { HomeFeed } from './home-feed.js';
import type { MediaUrls } from './media/config.js';
import type { FeedStores } from './stores.js';

export interface FeedContext extends RequestBase {
  stores: FeedStores;
  events: FeedEvents;
  homeFeed: HomeFeed;
  loaders: FeedLoaders;
  mediaUrls: MediaUrls;
}

export function feedContext(
  stores: FeedStores,
  events: FeedEvents,
  homeFeed: HomeFeed,
  mediaUrls: MediaUrls,
) {
  return (base: RequestBase): FeedContext => ({
    ...base,
    stores,
    events,
    homeFeed,
    mediaUrls,
    loaders: feedLoaders(stores, base.viewer?.id ?? null, base.metrics),
  });
}
