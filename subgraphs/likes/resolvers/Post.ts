import { readPage, toConnection, type PageArgs } from '../../../platform/connection.js';
import { isEntityId } from '../../../platform/ids.js';
import type { LikesContext } from '../context.js';

interface PostRef {
  id: string;
}

export const Post = {
  __resolveReference: (reference: PostRef) => reference,
  likeCount(post: PostRef, _args: unknown, context: LikesContext) {
    return isEntityId(post.id) ? context.loaders.likeCounts.load(post.id) : 0;
  },
  viewerHasLiked(post: PostRef, _args: unknown, context: LikesContext) {
    return context.viewer && isEntityId(post.id)
      ? context.loaders.viewerLikes.load(post.id)
      : false;
  },
  async likes(post: PostRef, args: PageArgs, context: LikesContext) {
    const page = readPage('likes', args);
    const rows = isEntityId(post.id)
      ? await context.loaders.likesByPost.load({ parentId: post.id, page })
      : [];
    return toConnection('likes', rows, page.limit, (like) => like._id);
  },
};
