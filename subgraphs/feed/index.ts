import { runSubgraphProcess } from '../../platform/subgraph.js';
import { startFeed } from './server.js';

await runSubgraphProcess('feed', 'FEED_PORT', 4001, startFeed);
