import { isEntityId } from '../../../platform/ids.js';
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
  author: (comment: CommentView): Author => ({
    __typename: 'User',
    id: comment.authorId,
    username: comment.authorUsername,
  }),
};

interface Author {
  __typename: 'User';
  id: string;
  username: string | undefined;
}

/** The schema promises `username` on a comment's author (`@provides`): kept, or else asked. */
export const User = {
  username: (author: Author, _args: unknown, context: CommentsContext) =>
    author.username ?? context.loaders.usernames.load(author.id),
};
