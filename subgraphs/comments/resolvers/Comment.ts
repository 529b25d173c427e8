import { isEntityId } from '../../../platform/ids.js';
import type { CommentsContext } from '../context.js';
import type { CommentDoc } from '../store/comments.js';

export function loadComment(context: CommentsContext, id: string) {
  return isEntityId(id) ? context.loaders.comments.load(id) : null;
}

export const Comment = {
  __resolveReference: (reference: { id: string }, context: CommentsContext) =>
    loadComment(context, reference.id),
  id: (comment: CommentDoc) => comment._id,
  post: (comment: CommentDoc) => ({ id: comment.postId }),
  author: (comment: CommentDoc) => ({ __typename: 'User', id: comment.authorId }),
};
