import { feedEntities, type CallerHeaders } from './feed-entities.js';

/**
 * Users as the feed subgraph, which owns profiles, knows them: by their second key, `username`
 * (who a `@username` is), or by id (what a user's name is), in one request per batch.
 */

/** Lower-cased usernames of existing users to their ids; names nobody holds are left out. */
export async function resolveUsernames(
  feedUrl: string,
  usernames: readonly string[],
): Promise<Map<string, string>> {
  const names = [...new Set(usernames.map((name) => name.toLowerCase()))];
  if (names.length === 0) return new Map();
  const users = await feedEntities<{ id: string }>(
    { feedUrl },
    'UserDirectory',
    '... on User { id }',
    names.map((username) => ({ __typename: 'User', username })),
    { authorization: undefined, requestId: 'user-directory' },
  );
  const found = new Map<string, string>();
  users.forEach((user, index) => {
    if (user) found.set(names[index] as string, user.id);
  });
  return found;
}

/** Each user's username, in order: null for a user without one (an identity with no profile). */
export async function usernamesOf(
  feedUrl: string,
  ids: readonly string[],
  caller: CallerHeaders,
): Promise<(string | null)[]> {
  const users = await feedEntities<{ username: string | null }>(
    { feedUrl },
    'UsernamesOf',
    '... on User { username }',
    ids.map((id) => ({ __typename: 'User', id })),
    caller,
  );
  return users.map((user) => user?.username ?? null);
}
