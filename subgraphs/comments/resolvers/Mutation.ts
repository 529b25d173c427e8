import { requireViewer } from '../../../platform/auth.js';
import { badInput, forbidden, notFound } from '../../../platform/errors.js';
import { isEntityId } from '../../../platform/ids.js';
import { characterCount, hasVisibleCharacter } from '../../../platform/text.js';
import { usernameToKeep } from '../../../platform/user-directory.js';
import type { CommentsContext } from '../context.js';
import type { CommentDoc } from '../store/comments.js';
import { loadComment } from './Comment.js';

export const MAX_BODY_LENGTH = 2_200;

function checkBody(body: string): string {
  const trimmed = body.trim();
  const length = characterCount(trimmed);
  if (length < 1 || length > MAX_BODY_LENGTH) {
    throw badInput(`body must be 1 to ${MAX_BODY_LENGTH} characters after trimming`);
  }
  if (!hasVisibleCharacter(trimmed)) throw badInput('body must have a visible character');
  return trimmed;
}

async function existingComment(context: CommentsContext, id: string): Promise<CommentDoc> {
  const comment = await loadComment(context, id);
  if (!comment) throw notFound(`No comment with id "${id}"`);
  return comment;
}

export const Mutation = {
  async addComment(
    _root: unknown,
    args: { postId: string; body: string },
    context: CommentsContext,
  ) {
    const viewerId = requireViewer(context);
    const body = checkBody(args.body);
    return context.writes.run(async () => {
      const [post, username] = await Promise.all([
        isEntityId(args.postId) ? context.loaders.posts.load(args.postId) : null,
        usernameToKeep(context, viewerId, 'author username lookup failed: comment kept without it'),
      ]);
      if (!post) throw notFound(`No post with id "${args.postId}"`);
      const { comment, count } = await context.stores.comments.add(
        post,
        { id: viewerId, username },
        body,
      );
      await context.events.commentChanged('comment.created', comment, viewerId, count);
      // The answer carries this write's own recount, never a cached count a rollback left ahead.
      context.loaders.commentCounters.clear(post.id).prime(post.id, { value: count.value });
      return comment;
    });
  },

  async editComment(_root: unknown, args: { id: string; body: string }, context: CommentsContext) {
    const viewerId = requireViewer(context);
    const body = checkBody(args.body);
    return context.writes.run(async () => {
      const comment = await existingComment(context, args.id);
      if (comment.authorId !== viewerId) throw forbidden('Only the author can edit this comment');
      const result = await context.stores.comments.edit(args.id, viewerId, body);
      if (!result) throw notFound(`No comment with id "${args.id}"`);
      const { comment: edited, count } = result;
      context.loaders.commentCounters.clear(edited.postId).prime(edited.postId, {
        value: count.value,
      });
      await context.events.commentChanged('comment.edited', edited, viewerId, {
        value: count.value,
        seq: 0,
      });
      // New mentions in the edit; the repair pass announces it if this cannot.
      await context.stores.comments.announceEdit(edited, count.value);
      return edited;
    });
  },

  async deleteComment(_root: unknown, args: { id: string }, context: CommentsContext) {
    const viewerId = requireViewer(context);
    return context.writes.run(async () => {
      const comment = await existingComment(context, args.id);
      if (comment.authorId !== viewerId && comment.postAuthorId !== viewerId) {
        throw forbidden("Only the comment's author or the post's author can delete this comment");
      }
      const count = await context.stores.comments.delete(args.id);
      if (!count) throw notFound(`No comment with id "${args.id}"`);
      await context.events.commentChanged('comment.deleted', comment, viewerId, count);
      context.loaders.commentCounters.clear(comment.postId).prime(comment.postId, {
        value: count.value,
      });
      return args.id;
    });
  },
};
