import type { Cache } from '../../platform/cache.js';
import {
  forgetDeletedPosts,
  startSubgraphService,
  type RunningService,
  type SubgraphServiceDeps,
} from '../../platform/subgraph.js';
import { postDirectory } from '../../platform/post-directory.js';
import { usernameDirectory } from '../../platform/user-directory.js';
import { writeAdmission } from '../../platform/write-admission.js';
import { likesContext } from './context.js';
import { likesEvents } from './events.js';
import { resolvers } from './resolvers/index.js';
import { likesStores } from './stores.js';

export interface LikesDeps extends SubgraphServiceDeps {
  cache: Cache;
  /** The feed subgraph, the source of truth for which posts exist and for users' names. */
  feedUrl: string;
  /** Likes and unlikes in flight beyond which one is refused with OVERLOADED. */
  writesMaxInFlight: number;
}

export function startLikes(deps: LikesDeps): Promise<RunningService> {
  const events = likesEvents(deps.events);
  const stores = likesStores(deps.db, deps.cache, (like, count) => events.announce(like, count));
  return startSubgraphService({
    ...deps,
    name: 'likes',
    stores,
    resolvers,
    context: likesContext(
      stores,
      events,
      {
        posts: postDirectory({ feedUrl: deps.feedUrl }, deps.events.metrics),
        usernamesOf: usernameDirectory(deps.feedUrl),
      },
      writeAdmission(deps.writesMaxInFlight, deps.events.metrics),
    ),
    postEvents: forgetDeletedPosts((postId) => stores.forgetPost(postId)),
  });
}
