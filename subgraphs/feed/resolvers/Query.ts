import { isUserId, requireViewer } from '../../../platform/auth.js';
import { readPage, toConnection, type PageArgs } from '../../../platform/connection.js';
import { isEntityId } from '../../../platform/ids.js';
import type { FeedContext } from '../context.js';
import { loadUser } from './User.js';

export const Query = {
  async feed(_root: unknown, args: PageArgs, context: FeedContext) {
    const viewerId = requireViewer(context);
    const page = readPage('feed', args);
    const { posts: rows, following } = await context.homeFeed.page(viewerId, page);
    for (const post of rows) {
      context.loaders.posts.prime(post._id, post);
      // `following` holds the viewer too, whom `viewerFollows` never asks about.
      context.loaders.viewerFollows.prime(post.authorId, following.has(post.authorId));
    }
    return toConnection('feed', rows, page.limit, (post) => post._id);
  },
  post(_root: unknown, args: { id: string }, context: FeedContext) {
    return isEntityId(args.id) ? context.loaders.posts.load(args.id) : null;
  },
  user(_root: unknown, args: { id: string }, context: FeedContext) {
    return isUserId(args.id) ? context.loaders.users.load(args.id) : null;
  },
  viewer(_root: unknown, _args: unknown, context: FeedContext) {
    return context.viewer ? loadUser(context, context.viewer.id) : null;
  },
};
