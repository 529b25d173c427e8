import { readPage, toConnection, type PageArgs } from '../../../platform/connection.js';
import { isEntityId } from '../../../platform/ids.js';
import type { CommentsContext } from '../context.js';
import { HEAD_SIZE, type CommentView } from '../store/comment-counts.js';

interface PostRef {
  id: string;
}

export const Post = {
  __resolveReference: (reference: PostRef) => reference,
  async commentCount(post: PostRef, _args: unknown, context: CommentsContext) {
    return isEntityId(post.id) ? (await context.loaders.commentCounters.load(post.id)).value : 0;
  },
  async comments(post: PostRef, args: PageArgs, context: CommentsContext) {
    const page = readPage('comments', args);
    if (!isEntityId(post.id)) return connectionOf([], page.limit);
    // A first page shorter than the counter's head (a feed's preview) is the head's start, and
    // the row after it says whether more follow.
    if (page.after === undefined && page.limit < HEAD_SIZE) {
      const { head } = await context.loaders.commentCounters.load(post.id);
      if (head) return connectionOf(head.slice(0, page.limit + 1), page.limit);
    }
    const rows = await context.loaders.commentsByPost.load({ parentId: post.id, page });
    for (const comment of rows) context.loaders.comments.prime(comment._id, comment);
    return connectionOf(rows, page.limit);
  },
};

const connectionOf = (rows: CommentView[], limit: number) =>
  toConnection('comments', rows, limit, (comment) => comment._id);
