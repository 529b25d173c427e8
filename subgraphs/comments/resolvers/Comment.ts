import { isEntityId } from '../../../platform/ids.js';
import { providedUsername, type NamedUser } from '../../../platform/user-directory.js';
import type { CommentsContext } from '../context.js';
import type { CommentView } from '../store/comment-counts.js';

export function loadComment(context: CommentsContext, id: string) {
  return isEntityId(id) ? context.loaders.comments.load(id) : null;
}

export const Comment = {
  __resolveReference: (reference: { id: string }, context: CommentsContext) =>
    loadComment(context, reference.id),
  id: (comment: CommentView) => comment._id,
  post: (comment: CommentView) => ({ id: comment.postId }),
  author: (comment: CommentView): NamedUser => ({
    __typename: 'User',
    id: comment.authorId,
    username: comment.authorUsername,
  }),
};

/** The schema promises `username` on the users it hands out (`@provides`). */
export const User = providedUsername;
