import type { Db } from 'mongodb';
import type { TokenVerifier } from '../../platform/auth.js';
import type { Logger } from '../../platform/logger.js';
import { startSubgraphService, type RunningService } from '../../platform/subgraph.js';
import { likesContext } from './context.js';
import { resolvers } from './resolvers/index.js';
import { likesStores } from './stores.js';

export interface LikesDeps {
  db: Db;
  auth: TokenVerifier;
  logger: Logger;
  host: string;
  port: number;
  repairIntervalMs: number;
  /** The feed subgraph, the source of truth for which posts exist. */
  feedUrl: string;
}

export function startLikes(deps: LikesDeps): Promise<RunningService> {
  const stores = likesStores(deps.db);
  return startSubgraphService({
    ...deps,
    name: 'likes',
    stores,
    resolvers,
    context: likesContext(stores, deps.feedUrl),
  });
}
