import type { RequestBase } from '../../platform/subgraph.js';
import { likesLoaders, type LikesLoaders } from './loaders.js';
import type { LikesStores } from './stores.js';

export interface LikesContext extends RequestBase {
  stores: LikesStores;
  loaders: LikesLoaders;
}

export function likesContext(stores: LikesStores, feedUrl: string) {
  return (base: RequestBase): LikesContext => ({
    ...base,
    stores,
    loaders: likesLoaders(stores, base.viewer?.id ?? null, {
      feedUrl,
      caller: { authorization: base.authorization, requestId: base.requestId },
    }),
  });
}
