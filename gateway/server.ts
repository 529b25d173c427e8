import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import type { TokenVerifier } from '../platform/auth.js';
import { maskErrors } from '../platform/errors.js';
import { closeServer, createGraphQLHttpService, listen } from '../platform/http.js';
import type { Logger } from '../platform/logger.js';
import type { RunningService } from '../platform/subgraph.js';
import type { GatewayContext } from './context.js';
import { operationResolution } from './operation-resolution.js';
import { SubgraphSource } from './subgraph-source.js';
import { supergraphFromFile } from './supergraph-file.js';

export interface GatewayDeps {
  supergraphPath: string;
  /** Per subgraph name, a URL that replaces the supergraph's routing URL. */
  subgraphUrls: Record<string, string>;
  auth: TokenVerifier;
  logger: Logger;
  host: string;
  port: number;
  maxBodyBytes: number;
  introspection: boolean;
}

export async function startGateway(deps: GatewayDeps): Promise<RunningService> {
  const { logger } = deps;
  const gateway = new ApolloGateway({
    supergraphSdl: supergraphFromFile(deps.supergraphPath, logger),
    buildService: ({ name, url }) => new SubgraphSource(deps.subgraphUrls[name] ?? url ?? ''),
    logger,
  });
  const apollo = new ApolloServer<GatewayContext>({
    gateway,
    logger,
    introspection: deps.introspection,
    plugins: [operationResolution],
    includeStacktraceInErrorResponses: false,
    formatError: maskErrors((formatted, error) =>
      logger.error({ err: error, path: formatted.path }, 'internal error'),
    ),
  });
  await apollo.start();

  const http = createGraphQLHttpService<GatewayContext>({
    apollo,
    logger,
    maxBodyBytes: deps.maxBodyBytes,
    // The gateway can serve whatever the subgraphs can: it is ready once its schema is loaded.
    ready: async () => true,
    async context(req, requestId) {
      const authorization = req.headers.authorization;
      // A bad token is refused here, before any subgraph is called.
      const viewer = await deps.auth.fromHeader(authorization);
      return { viewer, requestId, authorization: viewer ? authorization : undefined };
    },
  });
  const port = await listen(http.server, deps.port, deps.host);
  logger.info({ port }, 'gateway listening');
  return {
    url: `http://${deps.host}:${port}/graphql`,
    port,
    server: http.server,
    async stop() {
      http.beginShutdown();
      await closeServer(http.server);
      await apollo.stop();
    },
  };
}
