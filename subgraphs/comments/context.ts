import type { RequestBase } from '../../platform/subgraph.js';
import { commentsLoaders, type CommentsLoaders } from './loaders.js';
import type { CommentsStores } from './stores.js';

export interface CommentsContext extends RequestBase {
  stores: CommentsStores;
  loaders: CommentsLoaders;
}

export function commentsContext(stores: CommentsStores, feedUrl: string) {
  return (base: RequestBase): CommentsContext => ({
    ...base,
    stores,
    loaders: commentsLoaders(stores, {
      feedUrl,
      caller: { authorization: base.authorization, requestId: base.requestId },
    }),
  });
}
