import { readPage, toConnection, type PageArgs } from '../../../platform/connection.js';
import { isEntityId } from '../../../platform/ids.js';
import type { CommentsContext } from '../context.js';

interface PostRef {
  id: string;
}

export const Post = {
  __resolveReference: (reference: PostRef) => reference,
  commentCount(post: PostRef, _args: unknown, context: CommentsContext) {
    return isEntityId(post.id) ? context.loaders.commentCounts.load(post.id) : 0;
  },
  async comments(post: PostRef, args: PageArgs, context: CommentsContext) {
    const page = readPage('comments', args);
    const rows = isEntityId(post.id)
      ? await context.loaders.commentsByPost.load({ parentId: post.id, page })
      : [];
    for (const comment of rows) context.loaders.comments.prime(comment._id, comment);
    return toConnection('comments', rows, page.limit, (comment) => comment._id);
  },
};
