import type { PostDirectory } from '../../platform/post-directory.js';
import type { RequestBase } from '../../platform/subgraph.js';
import type { WriteAdmission } from '../../platform/write-admission.js';
import type { UsernamesOf } from '../../platform/user-directory.js';
import { commentsLoaders, type CommentsLoaders } from './loaders.js';
import type { CommentsEvents } from './events.js';
import type { CommentsStores } from './stores.js';

export interface CommentsContext extends RequestBase {
  stores: CommentsStores;
  events: CommentsEvents;
  loaders: CommentsLoaders;
  writes: WriteAdmission;
}

export function commentsContext(
  stores: CommentsStores,
  events: CommentsEvents,
  directory: { posts: PostDirectory; usernamesOf: UsernamesOf },
  writes: WriteAdmission,
) {
  return (base: RequestBase): CommentsContext => ({
    ...base,
    stores,
    events,
    writes,
    loaders: commentsLoaders(
      stores,
      {
        ...directory,
        caller: { authorization: base.authorization, requestId: base.requestId },
      },
      base.metrics,
    ),
  });
}
