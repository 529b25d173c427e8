import type { CommentsContext } from '../context.js';
import { loadComment } from './Comment.js';

export const Query = {
  comment: (_root: unknown, args: { id: string }, context: CommentsContext) =>
    loadComment(context, args.id),
};
