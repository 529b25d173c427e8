import { isUserId } from '../../../platform/auth.js';
import { readPage, toConnection, type PageArgs } from '../../../platform/connection.js';
import { shardOfUser } from '../../../platform/ids.js';
import type { FeedContext } from '../context.js';
import type { UserDoc } from '../store/users.js';

/** A user with no profile yet (never wrote anything) still exists as an identity. */
export function blankUser(id: string): UserDoc {
  return { _id: id, shard: shardOfUser(id) };
}

export async function loadUser(context: FeedContext, id: string): Promise<UserDoc> {
  return (await context.loaders.users.load(id)) ?? blankUser(id);
}

export const User = {
  async __resolveReference(reference: { id?: string; username?: string }, context: FeedContext) {
    if (reference.username !== undefined) {
      const id = await context.loaders.usernames.load(reference.username.toLowerCase());
      return id ? loadUser(context, id) : null;
    }
    return reference.id && isUserId(reference.id) ? loadUser(context, reference.id) : null;
  },
  id: (user: UserDoc) => user._id,
  username: (user: UserDoc) => user.username ?? null,
  followerCount: (user: UserDoc) => user.followerCount ?? 0,
  followingCount: (user: UserDoc) => user.followingCount ?? 0,
  viewerFollows(user: UserDoc, _args: unknown, context: FeedContext) {
    const viewerId = context.viewer?.id;
    if (!viewerId || viewerId === user._id) return false;
    return context.loaders.viewerFollows.load(user._id);
  },
  async posts(user: UserDoc, args: PageArgs, context: FeedContext) {
    const page = readPage('posts', args);
    const rows = await context.loaders.postsByAuthor.load({ parentId: user._id, page });
    return toConnection('posts', rows, page.limit, (post) => post._id);
  },
};
