import { resolveUsernames } from '../../platform/user-directory.js';
import { runSubgraphProcess } from '../../platform/subgraph.js';
import { readNotificationsConfig } from './config.js';
import { startNotifications } from './server.js';

await runSubgraphProcess('notifications', 'NOTIFICATIONS_PORT', 4004, (deps) =>
  startNotifications({
    ...deps,
    config: readNotificationsConfig(),
    resolveUsernames: (names) => resolveUsernames(deps.env.feedUrl, names),
  }),
);
