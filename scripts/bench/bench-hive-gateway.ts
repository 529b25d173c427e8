import { createServer, type RequestListener } from 'node:http';

/**
 * Peer (c) of `npm run bench`: `@graphql-hive/gateway`'s runtime with its Rust query planner
 * (`@graphql-hive/router-runtime`, as `hive-gateway --hive-router-runtime` loads it), one process,
 * over the bench's supergraph file, forwarding the caller's Authorization header to the
 * subgraphs. Otherwise defaults. Measurement only; never deployed.
 *
 * Both packages are imported by a name the compiler does not follow: their types augment
 * graphql's `GraphQLErrorExtensions` globally (graphql-yoga's `http.headers` as a plain record),
 * which would clash with Apollo Server's `HeaderMap` in the gateway's own code.
 */
interface HiveRuntime {
  createGatewayRuntime(config: Record<string, unknown>): RequestListener;
}
const hive = '@graphql-hive/gateway';
const routerRuntime = '@graphql-hive/router-runtime';
const { createGatewayRuntime } = (await import(hive)) as HiveRuntime;
const { unifiedGraphHandler } = (await import(routerRuntime)) as { unifiedGraphHandler: unknown };

const gateway = createGatewayRuntime({
  supergraph: process.env.SUPERGRAPH_PATH ?? '',
  unifiedGraphHandler,
  logging: 'error',
  propagateHeaders: {
    fromClientToSubgraphs: ({ request }: { request: Request }) => ({
      authorization: request.headers.get('authorization'),
    }),
  },
});
createServer(gateway).listen(Number(process.env.BENCH_PORT), '127.0.0.1');
// The runtime keeps the process alive past SIGTERM (it disposes on signals, then waits); the bench
// stops its peers with SIGTERM and has nothing to drain.
process.once('SIGTERM', () => process.exit(0));
