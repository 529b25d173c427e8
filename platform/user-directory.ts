import { REQUEST_ID_HEADER } from './http.js';

/**
 * Who a `@username` is: the feed subgraph owns profiles and resolves users by their second key,
 * `username`, through its federation `_entities` field, in one request per batch of names.
 */
const QUERY = `query UserDirectory($representations: [_Any!]!) {
  _entities(representations: $representations) { ... on User { id } }
}`;

interface EntitiesResponse {
  data?: { _entities: ({ id: string } | null)[] };
  errors?: { message: string }[];
}

/** Lower-cased usernames of existing users to their ids; names nobody holds are left out. */
export async function resolveUsernames(
  feedUrl: string,
  usernames: readonly string[],
  timeoutMs = 5_000,
): Promise<Map<string, string>> {
  const names = [...new Set(usernames.map((name) => name.toLowerCase()))];
  if (names.length === 0) return new Map();
  const response = await fetch(feedUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', [REQUEST_ID_HEADER]: 'user-directory' },
    body: JSON.stringify({
      query: QUERY,
      variables: { representations: names.map((username) => ({ __typename: 'User', username })) },
    }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const body = (await response.json()) as EntitiesResponse;
  if (!body.data) {
    throw new Error(
      `feed subgraph answered ${response.status}: ${body.errors?.[0]?.message ?? 'no data'}`,
    );
  }
  const found = new Map<string, string>();
  body.data._entities.forEach((user, index) => {
    if (user) found.set(names[index] as string, user.id);
  });
  return found;
}
