import type { Db } from 'mongodb';
import type { TokenVerifier } from '../../platform/auth.js';
import type { Logger } from '../../platform/logger.js';
import type { EventClients } from '../../platform/pubsub.js';
import { startSubgraphService, type RunningService } from '../../platform/subgraph.js';
import { feedContext } from './context.js';
import { feedEvents } from './events.js';
import { resolvers } from './resolvers/index.js';
import { feedStores } from './stores.js';

export interface FeedDeps {
  db: Db;
  auth: TokenVerifier;
  logger: Logger;
  host: string;
  port: number;
  repairIntervalMs: number;
  events: EventClients;
}

export function startFeed(deps: FeedDeps): Promise<RunningService> {
  const stores = feedStores(deps.db);
  const events = feedEvents(deps.events, stores.posts, deps.logger);
  return startSubgraphService({
    ...deps,
    name: 'feed',
    stores: {
      ensureIndexes: () => stores.ensureIndexes(),
      repair: async (olderThanMs) =>
        (await stores.follows.repair(olderThanMs)) + (await events.repair(olderThanMs)),
    },
    resolvers,
    context: feedContext(stores, events),
  });
}
