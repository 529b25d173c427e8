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

/** Each user's username, in order: null for a user without one. */
export type UsernamesOf = (
  ids: readonly string[],
  caller: CallerHeaders,
) => Promise<(string | null)[]>;

/** Names remembered per process, the oldest first out: a name never changes once a user has one. */
const KNOWN_USERNAMES = 100_000;

/**
 * One per process: each user's username, in order, as `usernamesOf` answers, remembered once
 * known, and asked in batches: ids asked while a lookup is in flight go together in the next
 * one, so a storm of likes or comments by different users costs about one feed request per
 * request's duration, not one per write. A batch carries the headers of whichever caller queued
 * it first (a name does not depend on the viewer). A user without a name yet is asked again.
 */
export function usernameDirectory(feedUrl: string): UsernamesOf {
  const known = new Map<string, string>();
  let inFlight: Promise<unknown> | null = null;
  let next: { ids: Set<string>; answer: Promise<Map<string, string | null>> } | null = null;

  async function lookUp(ids: string[], caller: CallerHeaders) {
    const names = await usernamesOf(feedUrl, ids, caller);
    const found = new Map<string, string | null>();
    ids.forEach((id, i) => {
      const name = names[i] ?? null;
      found.set(id, name);
      if (name === null) return;
      if (known.size >= KNOWN_USERNAMES) known.delete(known.keys().next().value as string);
      known.set(id, name);
    });
    return found;
  }

  /** Joins the batch queued behind the lookup in flight, or starts one. */
  function batchOf(ids: string[], caller: CallerHeaders): Promise<Map<string, string | null>> {
    if (next) {
      for (const id of ids) next.ids.add(id);
      return next.answer;
    }
    const batch = new Set(ids);
    const start = () => {
      next = null;
      return lookUp([...batch], caller);
    };
    const answer = inFlight ? inFlight.then(start, start) : start();
    if (inFlight) next = { ids: batch, answer };
    const settled = answer.then(
      () => undefined,
      () => undefined,
    );
    inFlight = settled;
    void settled.then(() => {
      if (inFlight === settled) inFlight = null;
    });
    return answer;
  }

  return async (ids, caller) => {
    const unknown = ids.filter((id) => !known.has(id));
    const found = unknown.length > 0 ? await batchOf(unknown, caller) : new Map();
    return ids.map((id) => known.get(id) ?? found.get(id) ?? null);
  };
}
