import { requireViewer } from '../../../platform/auth.js';
import { notFound } from '../../../platform/errors.js';
import type { Recounted } from '../../../platform/counters.js';
import { isEntityId } from '../../../platform/ids.js';
import { usernameToKeep } from '../../../platform/user-directory.js';
import type { LikesContext } from '../context.js';

/** The viewer and a post that exists, or the error that says which is missing. */
async function viewerAndPost(context: LikesContext, postId: string) {
  const viewerId = requireViewer(context);
  const post = isEntityId(postId) ? await context.loaders.posts.load(postId) : null;
  if (!post) throw notFound(`No post with id "${postId}"`);
  return { viewerId, postId, authorId: post.authorId };
}

/**
 * The answer carries the count as the database has it: this mutation's own recount, or for one
 * that changed nothing the primary's, never a cached count a rollback may have left ahead. The
 * viewer's own state is what the mutation just made it (a like or unlike is idempotent), so it
 * costs no read.
 */
async function fresh(
  context: LikesContext,
  postId: string,
  count: Recounted | null,
  viewerHasLiked: boolean,
) {
  const value = count ? count.value : await context.stores.counts.current(postId);
  context.loaders.likeCounts.clear(postId).prime(postId, value);
  context.loaders.viewerLikes.clear(postId).prime(postId, viewerHasLiked);
  return { id: postId };
}

export const Mutation = {
  likePost(_root: unknown, args: { postId: string }, context: LikesContext) {
    const viewerId = requireViewer(context);
    return context.writes.run(async () => {
      const [{ postId, authorId }, name] = await Promise.all([
        viewerAndPost(context, args.postId),
        usernameToKeep(context, viewerId, 'liker username lookup failed: like kept without it'),
      ]);
      const count = await context.stores.likes.like(
        postId,
        { id: viewerId, username: name },
        authorId,
      );
      if (count) await context.events.likeChanged('post.liked', postId, viewerId, count);
      return fresh(context, postId, count, true);
    });
  },
  unlikePost(_root: unknown, args: { postId: string }, context: LikesContext) {
    requireViewer(context);
    return context.writes.run(async () => {
      const { viewerId, postId } = await viewerAndPost(context, args.postId);
      const count = await context.stores.likes.unlike(postId, viewerId);
      if (count) await context.events.likeChanged('post.unliked', postId, viewerId, count);
      return fresh(context, postId, count, false);
    });
  },
};
