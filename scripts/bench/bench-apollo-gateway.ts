import { readFileSync } from 'node:fs';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';

/**
 * Peer (b) of `npm run bench`: a plain `@apollo/gateway` under `@apollo/server`'s standalone
 * server, default settings throughout, over the bench's supergraph file. One change only: the
 * caller's Authorization header is forwarded to the subgraphs, without which `feed` and
 * `viewerHasLiked` cannot work. Measurement only; never deployed.
 */
interface Context {
  authorization?: string;
}

process.env.APOLLO_TELEMETRY_DISABLED = 'true';
const gateway = new ApolloGateway({
  supergraphSdl: readFileSync(process.env.SUPERGRAPH_PATH ?? '', 'utf8'),
  buildService: ({ url }) =>
    new RemoteGraphQLDataSource<Context>({
      url,
      willSendRequest({ request, context }) {
        if (context.authorization)
          request.http?.headers.set('authorization', context.authorization);
      },
    }),
});
const server = new ApolloServer<Context>({ gateway });
await startStandaloneServer(server, {
  listen: { port: Number(process.env.BENCH_PORT), host: '127.0.0.1' },
  context: async ({ req }) => ({ authorization: req.headers.authorization }),
});
