import {
  ApolloClient,
  ApolloLink,
  CombinedGraphQLErrors,
  HttpLink,
  InMemoryCache,
  ServerError,
} from '@apollo/client';
import { ErrorLink } from '@apollo/client/link/error';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { relayStylePagination } from '@apollo/client/utilities';
import type { DocumentNode } from 'graphql';
import { OperationTypeNode } from 'graphql';
import { createClient } from 'graphql-ws';
import { mergeMap, of, timer, type Observable } from 'rxjs';
import { setLinkState } from './connection';
import type { Session } from './session';

/**
 * Codegen embeds each operation's SHA-256 (`persistedDocuments`), the key of the gateway's trusted
 * documents: the app sends the hash, never needs to hash anything, and the gateway runs its own
 * copy of the document.
 */
function documentHash(document: DocumentNode): string {
  const hash = (document as { __meta__?: { hash?: string } }).__meta__?.hash;
  if (!hash) throw new Error('an operation without a codegen hash: run npm run web:codegen');
  return hash.replace(/^sha256:/, '');
}

/** Times a write refused with OVERLOADED is sent again before its refusal is the answer. */
const OVERLOADED_ATTEMPTS = 3;

/**
 * A write refused with OVERLOADED wrote nothing (the API says so): it goes again after the
 * `retryAfter` seconds the refusal names, stretched by up to a half at random so that the clients
 * refused together do not come back together. Meanwhile the optimistic answer stays on screen.
 */
const retryOverloaded = new ApolloLink((operation, forward) => {
  const attempt = (made: number): Observable<ApolloLink.Result> =>
    forward(operation).pipe(
      mergeMap((result) => {
        const refusal = result.errors?.find((error) => error.extensions?.code === 'OVERLOADED');
        if (!refusal || made >= OVERLOADED_ATTEMPTS) return of(result);
        const seconds = Number(refusal.extensions?.retryAfter) || 1;
        return timer(seconds * 1_000 * (1 + Math.random() / 2)).pipe(
          mergeMap(() => attempt(made + 1)),
        );
      }),
    );
  return attempt(1);
});

/** graphql-ws's close code for a missing, bad or expired token. */
const CLOSE_UNAUTHORIZED = 4401;

/**
 * `onSignedOut` runs when the gateway no longer takes the token (expired, or signed with another
 * secret): over HTTP a 401 or `UNAUTHENTICATED`, over the WebSocket a 4401 close.
 */
export function createApolloClient(
  gatewayUrl: string,
  session: Session,
  onSignedOut: () => void,
): ApolloClient {
  const authorization = `Bearer ${session.token}`;
  const sockets = createClient({
    url: `${gatewayUrl.replace(/^http/, 'ws')}/graphql`,
    connectionParams: { authorization },
    // A phone that walks out of coverage comes back: keep trying, backing off up to 8 s (and a
    // random part, so that a restarted gateway is not met by every client at once).
    retryAttempts: Number.POSITIVE_INFINITY,
    shouldRetry: (event) => {
      if ((event as { code?: number }).code !== CLOSE_UNAUTHORIZED) return true;
      onSignedOut();
      return false;
    },
    retryWait: (retries) =>
      new Promise((resolve) =>
        setTimeout(resolve, Math.min(500 * 2 ** retries, 8_000) + Math.random() * 1_000),
      ),
    on: {
      connecting: (isRetry) => setLinkState(isRetry ? 'reconnecting' : 'connecting'),
      connected: () => setLinkState('online'),
      closed: () => setLinkState('reconnecting'),
    },
  });
  const http = new HttpLink({
    uri: `${gatewayUrl}/graphql`,
    // CSRF prevention: the gateway runs a GET only with this header (hashed queries are GETs).
    headers: { authorization, 'apollo-require-preflight': 'true' },
  });
  const transport = ApolloLink.split(
    ({ operationType }) => operationType === OperationTypeNode.SUBSCRIPTION,
    new GraphQLWsLink(sockets),
    http,
  );
  const signedOut = new ErrorLink(({ error }) => {
    const refused =
      (ServerError.is(error) && error.statusCode === 401) ||
      (CombinedGraphQLErrors.is(error) &&
        error.errors.some((e) => e.extensions?.code === 'UNAUTHENTICATED'));
    if (refused) onSignedOut();
  });
  const link = ApolloLink.from([
    signedOut,
    retryOverloaded,
    new PersistedQueryLink({
      generateHash: documentHash,
      useGETForHashedQueries: true,
    }),
    transport,
  ]);
  const cache = new InMemoryCache({
    typePolicies: {
      Query: {
        fields: { feed: relayStylePagination(), notifications: relayStylePagination() },
      },
      // PostCounts has no id: one entry per post, keyed as the API contract says.
      PostCounts: { keyFields: ['postId'] },
    },
  });
  return new ApolloClient({ link, cache });
}
