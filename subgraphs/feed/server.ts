import type { Cache } from '../../platform/cache.js';
import { every } from '../../platform/service.js';
import {
  startSubgraphService,
  type RunningService,
  type SubgraphServiceDeps,
} from '../../platform/subgraph.js';
import { feedContext } from './context.js';
import { feedEvents, followAnnouncer } from './events.js';
import { homeFeed } from './home-feed.js';
import { assetsService } from './media/assets-service.js';
import type { MediaOptions } from './media/config.js';
import { resolvers } from './resolvers/index.js';
import { feedStores } from './stores.js';

export interface TimelineOptions {
  /** Entries kept per timeline; older pages are read by fan-out on read. */
  length: number;
  /** Days after its last rebuild that a timeline is dropped (and rebuilt if its reader returns). */
  maxAgeDays: number;
  /** Authors with more followers are fanned out on read instead of on write. */
  maxFanOutFollowers: number;
  /** A reader's follow list is read whole with each page up to this length (see `homeFeed`). */
  followsReadInFull: number;
  /** How often the list of such authors is re-read from the database. */
  refreshMs: number;
}

export interface FeedDeps extends SubgraphServiceDeps {
  cache: Cache;
  timelines: TimelineOptions;
  media: MediaOptions;
}

export async function startFeed(deps: FeedDeps): Promise<RunningService> {
  const stores = feedStores(deps.db, {
    timelineLength: deps.timelines.length,
    timelineMaxAgeDays: deps.timelines.maxAgeDays,
    cache: deps.cache,
    announceFollow: followAnnouncer(deps.events),
  });
  const events = feedEvents(deps.events, stores.posts, deps.logger);
  const home = homeFeed(stores, {
    maxFanOutFollowers: deps.timelines.maxFanOutFollowers,
    followsReadInFull: deps.timelines.followsReadInFull,
  });
  await home.refresh();
  const stopRefresh = every(deps.timelines.refreshMs, () => home.refresh(), deps.logger);
  const media = assetsService({ ...deps, assets: stores.assets });
  // Before the first request: an upload's event must find its stream.
  const stopMetadata = await media.consume();
  const service = await startSubgraphService({
    ...deps,
    name: 'feed',
    stores: {
      ensureIndexes: () => stores.ensureIndexes(),
      repair: async (olderThanMs) =>
        (await stores.follows.repair(olderThanMs)) +
        (await events.repair(olderThanMs)) +
        (await media.repair(olderThanMs)) +
        (await stores.reconcileCache()),
    },
    resolvers,
    context: feedContext(stores, events, home, media.urls),
    postEvents: (event) => home.fanOut(event),
    routes: media.routes,
    alsoReady: () => deps.media.blobs.ping(),
  });
  return {
    ...service,
    async stop() {
      await service.stop();
      await stopRefresh();
      await stopMetadata();
      await deps.media.blobs.close();
    },
  };
}
