import { runSubgraphProcess } from '../../platform/subgraph.js';
import { startComments } from './server.js';

await runSubgraphProcess('comments', 'COMMENTS_PORT', 4003, (deps) =>
  startComments({
    ...deps,
    feedUrl: deps.env.feedUrl,
    writesMaxInFlight: deps.env.writesMaxInFlight,
  }),
);
