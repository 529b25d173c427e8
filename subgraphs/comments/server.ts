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
import { commentsContext } from './context.js';
import { commentsEvents } from './events.js';
import { resolvers } from './resolvers/index.js';
import { commentsStores } from './stores.js';

export interface CommentsDeps {
  db: Db;
  auth: TokenVerifier;
  logger: Logger;
  host: string;
  port: number;
  repairIntervalMs: number;
  events: EventClients;
  cache: Cache;
  /** The feed subgraph, the source of truth for which posts exist and who wrote them. */
  feedUrl: string;
}

export function startComments(deps: CommentsDeps): Promise<RunningService> {
  const events = commentsEvents(deps.events);
  const stores = commentsStores(deps.db, deps.cache, events.announce);
  return startSubgraphService({
    ...deps,
    name: 'comments',
    stores,
    resolvers,
    context: commentsContext(stores, events, deps.feedUrl),
    postEvents: forgetDeletedPosts((postId) => stores.forgetPost(postId)),
  });
}
