import type { RequestBase } from '../../platform/subgraph.js';
import { feedLoaders, type FeedLoaders } from './loaders.js';
import type { FeedStores } from './stores.js';

export interface FeedContext extends RequestBase {
  stores: FeedStores;
  loaders: FeedLoaders;
}

export function feedContext(stores: FeedStores) {
  return (base: RequestBase): FeedContext => ({
    ...base,
    stores,
    loaders: feedLoaders(stores, base.viewer?.id ?? null),
  });
}
