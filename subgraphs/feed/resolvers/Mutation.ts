import { isUserId, requireViewer } from '../../../platform/auth.js';
import { badInput, forbidden, notFound } from '../../../platform/errors.js';
import { isEntityId } from '../../../platform/ids.js';
import type { FeedContext } from '../context.js';
import { checkCaption, checkMedia, requestedAssetIds, type MediaInput } from '../post-input.js';
import type { AssetDoc } from '../store/assets.js';
import type { PostDoc } from '../store/posts.js';
import { loadUser } from './User.js';

/** The post to change, or the reason it cannot be changed by the viewer. */
async function ownPost(context: FeedContext, id: string, viewerId: string): Promise<PostDoc> {
  const post = isEntityId(id) ? await context.loaders.posts.load(id) : null;
  if (!post) throw notFound(`No post with id "${id}"`);
  if (post.authorId !== viewerId) throw forbidden('Only the author can change this post');
  return post;
}

async function otherUser(context: FeedContext, userId: string, viewerId: string): Promise<string> {
  if (!isUserId(userId)) throw notFound(`No user with id "${userId}"`);
  if (userId === viewerId) throw badInput('You cannot follow or unfollow yourself');
  if (!(await context.loaders.users.load(userId))) throw notFound(`No user with id "${userId}"`);
  return userId;
}

/** The followed or unfollowed user as they are now; their new follower count feeds the fan-out list. */
async function freshUser(context: FeedContext, id: string) {
  context.loaders.users.clear(id);
  context.loaders.viewerFollows.clear(id);
  const user = await loadUser(context, id);
  context.homeFeed.noteFollowers(id, user.followerCount ?? 0);
  return user;
}

export const Mutation = {
  async createPost(
    _root: unknown,
    args: { input: { caption?: string | null; media: MediaInput[] } },
    context: FeedContext,
  ) {
    const viewerId = requireViewer(context);
    const caption = checkCaption(args.input.caption);
    const assets = await context.loaders.assets.loadMany(requestedAssetIds(args.input.media));
    const ownAssets = new Map<string, AssetDoc>();
    for (const asset of assets) {
      // A failed lookup is ours, not the client's: it must not read as "no such asset".
      if (asset instanceof Error) throw asset;
      if (asset?.ownerId === viewerId) ownAssets.set(asset._id, asset);
    }
    const media = checkMedia(args.input.media, ownAssets);
    await context.stores.users.ensure(viewerId);
    const post = await context.stores.posts.create(viewerId, caption, media);
    context.loaders.posts.prime(post._id, post);
    // The author sees it at once; followers get it from the fan-out of the announcement.
    await context.stores.timelines.add([viewerId], { postId: post._id, authorId: viewerId });
    await context.events.postCreated(post);
    return post;
  },

  async updatePost(
    _root: unknown,
    args: { id: string; caption?: string | null },
    context: FeedContext,
  ) {
    const viewerId = requireViewer(context);
    const caption = checkCaption(args.caption);
    const post = await ownPost(context, args.id, viewerId);
    // An argument left out changes nothing; an explicit null removes the caption.
    if (!('caption' in args)) return post;
    const updated = await context.stores.posts.updateCaption(args.id, viewerId, caption);
    if (!updated) throw notFound(`No post with id "${args.id}"`);
    context.loaders.posts.clear(args.id).prime(args.id, updated);
    // Users the new caption mentions hear of it from the announcement.
    await context.events.postEdited(updated);
    return updated;
  },

  async deletePost(_root: unknown, args: { id: string }, context: FeedContext) {
    const viewerId = requireViewer(context);
    await ownPost(context, args.id, viewerId);
    if (!(await context.stores.posts.markDeleted(args.id, viewerId))) {
      throw notFound(`No post with id "${args.id}"`);
    }
    context.loaders.posts.clear(args.id);
    await context.events.postDeleted(args.id, viewerId);
    return args.id;
  },

  async followUser(_root: unknown, args: { userId: string }, context: FeedContext) {
    const viewerId = requireViewer(context);
    const userId = await otherUser(context, args.userId, viewerId);
    await context.stores.users.ensure(viewerId);
    await context.stores.follows.follow(viewerId, userId);
    await context.homeFeed.followed(viewerId, userId);
    return freshUser(context, userId);
  },

  async unfollowUser(_root: unknown, args: { userId: string }, context: FeedContext) {
    const viewerId = requireViewer(context);
    const userId = await otherUser(context, args.userId, viewerId);
    await context.stores.follows.unfollow(viewerId, userId);
    return freshUser(context, userId);
  },
};
