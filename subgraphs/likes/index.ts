import { runSubgraphProcess } from '../../platform/subgraph.js';
import { startLikes } from './server.js';

await runSubgraphProcess('likes', 'LIKES_PORT', 4002, (deps) =>
  startLikes({
    ...deps,
    feedUrl: deps.env.feedUrl,
    writesMaxInFlight: deps.env.writesMaxInFlight,
  }),
);
