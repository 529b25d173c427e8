import type { Db } from 'mongodb';
import type { Cache } from '../../platform/cache.js';
import type { TokenVerifier } from '../../platform/auth.js';
import type { Logger } from '../../platform/logger.js';
import type { EventClients } from '../../platform/pubsub.js';
import {
  forgetDeletedPosts,
  startSubgraphService,
  type RunningService,
} from '../../platform/subgraph.js';
import { likesContext } from './context.js';
import { likesEvents } from './events.js';
import { resolvers } from './resolvers/index.js';
import { likesStores } from './stores.js';

export interface LikesDeps {
  db: Db;
  auth: TokenVerifier;
  logger: Logger;
  host: string;
  port: number;
  repairIntervalMs: number;
  events: EventClients;
  cache: Cache;
  /** The feed subgraph, the source of truth for which posts exist. */
  feedUrl: string;
}

export function startLikes(deps: LikesDeps): Promise<RunningService> {
  const events = likesEvents(deps.events);
  const stores = likesStores(deps.db, deps.cache, (like, count) => events.announce(like, count));
  return startSubgraphService({
    ...deps,
    name: 'likes',
    stores,
    resolvers,
    context: likesContext(stores, events, deps.feedUrl),
    postEvents: forgetDeletedPosts((postId) => stores.forgetPost(postId)),
  });
}
