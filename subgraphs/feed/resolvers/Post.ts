import { isEntityId } from '../../../platform/ids.js';
import type { FeedContext } from '../context.js';
import type { PostDoc } from '../store/posts.js';
import { loadUser } from './User.js';

export const Post = {
  __resolveReference(reference: { id: string }, context: FeedContext) {
    return isEntityId(reference.id) ? context.loaders.posts.load(reference.id) : null;
  },
  id: (post: PostDoc) => post._id,
  author: (post: PostDoc, _args: unknown, context: FeedContext) => loadUser(context, post.authorId),
};
