import type { RequestBase } from '../../platform/subgraph.js';
import { likesLoaders, type LikesLoaders } from './loaders.js';
import type { LikesEvents } from './events.js';
import type { LikesStores } from './stores.js';

export interface LikesContext extends RequestBase {
  stores: LikesStores;
  events: LikesEvents;
  loaders: LikesLoaders;
}

export function likesContext(stores: LikesStores, events: LikesEvents, feedUrl: string) {
  return (base: RequestBase): LikesContext => ({
    ...base,
    stores,
    events,
    loaders: likesLoaders(
      stores,
      base.viewer?.id ?? null,
      {
        feedUrl,
        caller: { authorization: base.authorization, requestId: base.requestId },
      },
      base.metrics,
    ),
  });
}
