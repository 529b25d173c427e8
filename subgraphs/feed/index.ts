import { int, readEnv } from '../../platform/env.js';
import { runSubgraphProcess } from '../../platform/subgraph.js';
import { readMediaEnv } from './media/config.js';
import { startFeed } from './server.js';

const env = readEnv({
  TIMELINE_LENGTH: int(800, 20, 10_000),
  TIMELINE_MAX_AGE_DAYS: int(7, 1, 365),
  FANOUT_MAX_FOLLOWERS: int(10_000, 0),
  FANOUT_REFRESH_MS: int(30_000, 1_000, 3_600_000),
  TIMELINE_FOLLOWS_READ_IN_FULL: int(100, 0, 10_000),
});

await runSubgraphProcess('feed', 'FEED_PORT', 4001, (deps) =>
  startFeed({
    ...deps,
    media: readMediaEnv(deps.db),
    timelines: {
      length: env.TIMELINE_LENGTH,
      maxAgeDays: env.TIMELINE_MAX_AGE_DAYS,
      maxFanOutFollowers: env.FANOUT_MAX_FOLLOWERS,
      refreshMs: env.FANOUT_REFRESH_MS,
      followsReadInFull: env.TIMELINE_FOLLOWS_READ_IN_FULL,
    },
  }),
);
