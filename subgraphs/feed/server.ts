import type { Db } from 'mongodb';
import type { TokenVerifier } from '../../platform/auth.js';
import type { Logger } from '../../platform/logger.js';
import { startSubgraphService, type RunningService } from '../../platform/subgraph.js';
import { feedContext } from './context.js';
import { resolvers } from './resolvers/index.js';
import { feedStores } from './stores.js';

export interface FeedDeps {
  db: Db;
  auth: TokenVerifier;
  logger: Logger;
  host: string;
  port: number;
  repairIntervalMs: number;
}

export function startFeed(deps: FeedDeps): Promise<RunningService> {
  const stores = feedStores(deps.db);
  return startSubgraphService({
    ...deps,
    name: 'feed',
    stores,
    resolvers,
    context: feedContext(stores),
  });
}
