import { runSubgraphProcess } from '../../platform/subgraph.js';
import { readMediaEnv } from './media/config.js';
import { startFeed } from './server.js';

await runSubgraphProcess('feed', 'FEED_PORT', 4001, (deps) =>
  startFeed({ ...deps, media: readMediaEnv(deps.db) }),
);
