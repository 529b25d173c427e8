import type { PostDirectory } from '../../platform/post-directory.js';
import type { RequestBase } from '../../platform/subgraph.js';
import type { UsernamesOf } from '../../platform/user-directory.js';
import type { WriteAdmission } from '../../platform/write-admission.js';
import { likesLoaders, type LikesLoaders } from './loaders.js';
import type { LikesEvents } from './events.js';
import type { LikesStores } from './stores.js';

export interface LikesContext extends RequestBase {
  stores: LikesStores;
  events: LikesEvents;
  loaders: LikesLoaders;
  writes: WriteAdmission;
}

export function likesContext(
  stores: LikesStores,
  events: LikesEvents,
  directory: { posts: PostDirectory; usernamesOf: UsernamesOf },
  writes: WriteAdmission,
) {
  return (base: RequestBase): LikesContext => ({
    ...base,
    stores,
    events,
    writes,
    loaders: likesLoaders(
      stores,
      base.viewer?.id ?? null,
      {
        ...directory,
        caller: { authorization: base.authorization, requestId: base.requestId },
      },
      base.metrics,
    ),
  });
}
