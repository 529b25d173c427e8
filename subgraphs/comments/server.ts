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
import { commentsContext } from './context.js';
import { commentsEvents } from './events.js';
import { resolvers } from './resolvers/index.js';
import { commentsStores } from './stores.js';

export interface CommentsDeps extends SubgraphServiceDeps {
  cache: Cache;
  /** The feed subgraph, the source of truth for which posts exist, who wrote them, and users' names. */
  feedUrl: string;
  /** Comment writes in flight beyond which one is refused with OVERLOADED. */
  writesMaxInFlight: number;
}

export function startComments(deps: CommentsDeps): Promise<RunningService> {
  const events = commentsEvents(deps.events);
  const stores = commentsStores(deps.db, deps.cache, events.announce);
  return startSubgraphService({
    ...deps,
    name: 'comments',
    stores,
    resolvers,
    context: commentsContext(
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
