import type { PostDirectory } from '../../platform/post-directory.js';
import type { RequestBase } from '../../platform/subgraph.js';
import { commentsLoaders, type CommentsLoaders } from './loaders.js';
import type { CommentsEvents } from './events.js';
import type { CommentsStores } from './stores.js';

export interface CommentsContext extends RequestBase {
  stores: CommentsStores;
  events: CommentsEvents;
  loaders: CommentsLoaders;
}

export function commentsContext(
  stores: CommentsStores,
  events: CommentsEvents,
  posts: PostDirectory,
) {
  return (base: RequestBase): CommentsContext => ({
    ...base,
    stores,
    events,
    loaders: commentsLoaders(
      stores,
      {
        posts,
        caller: { authorization: base.authorization, requestId: base.requestId },
      },
      base.metrics,
    ),
  });
}
