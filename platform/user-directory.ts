import DataLoader from 'dataloader';
import { feedEntities, type CallerHeaders } from './feed-entities.js';
import { groupCommit } from './group-commit.js';
import type { Logger } from './logger.js';
import { measuredBatch, type Metrics } from './metrics.js';

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
 * known, and asked in batches (`groupCommit`): ids asked while a lookup is in flight go together
 * in the next one, so a storm of likes or comments by different users costs about one feed
 * request per request's duration, not one per write. A batch carries the headers of whichever
 * caller queued it first (a name does not depend on the viewer). A user without a name yet is
 * asked again.
 */
export function usernameDirectory(feedUrl: string): UsernamesOf {
  const known = new Map<string, string>();
  const lookUp = groupCommit(async (asks: { ids: readonly string[]; caller: CallerHeaders }[]) => {
    const ids = [...new Set(asks.flatMap((ask) => ask.ids))];
    const names = await usernamesOf(feedUrl, ids, (asks[0] as (typeof asks)[0]).caller);
    const found = new Map<string, string | null>();
    ids.forEach((id, i) => {
      const name = names[i] ?? null;
      found.set(id, name);
      if (name === null) return;
      if (known.size >= KNOWN_USERNAMES) known.delete(known.keys().next().value as string);
      known.set(id, name);
    });
    return found;
  });

  return async (ids, caller) => {
    const unknown = ids.filter((id) => !known.has(id));
    const found = unknown.length > 0 ? await lookUp({ ids: unknown, caller }) : new Map();
    return ids.map((id) => known.get(id) ?? found.get(id) ?? null);
  };
}

/**
 * Per request: the names of a new like's or comment's user and of the users of rows stored without
 * one, every load of one tick in one `usernamesOf` call.
 */
export function usernamesLoader(
  usernamesOf: UsernamesOf,
  caller: CallerHeaders,
  metrics: Metrics,
): DataLoader<string, string | null> {
  return new DataLoader<string, string | null>(
    measuredBatch(metrics, 'usernames', (ids) => usernamesOf(ids, caller)),
  );
}

/**
 * The name to keep with a new like or comment, or null when it cannot be had now: the write goes
 * on without it, and each read of that row asks the feed subgraph instead (`providedUsername`).
 */
export async function usernameToKeep(
  context: { loaders: { usernames: DataLoader<string, string | null> }; log: Logger },
  userId: string,
  failure: string,
): Promise<string | null> {
  try {
    return await context.loaders.usernames.load(userId);
  } catch (error) {
    context.log.warn({ err: error }, failure);
    return null;
  }
}

/** A user as a like or comment gives it: with the name it keeps, if it keeps one. */
export interface NamedUser {
  __typename: 'User';
  id: string;
  username: string | undefined;
}

/**
 * The `User` resolver of a subgraph whose schema promises `username` on users it hands out
 * (`@provides`): the name the row kept, or else the feed subgraph's.
 */
export const providedUsername = {
  username: (
    user: NamedUser,
    _args: unknown,
    context: { loaders: { usernames: DataLoader<string, string | null> } },
  ) => user.username ?? context.loaders.usernames.load(user.id),
};
