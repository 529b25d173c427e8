import { isEntityId } from '../../../platform/ids.js';
import type { FeedContext } from '../context.js';

interface PostCountsRef {
  postId: string;
}

export const PostCounts = {
  __resolveReference: (reference: PostCountsRef) => reference,
  // Through the posts loader: a page of counts reads its posts in one batch.
  post: (counts: PostCountsRef, _args: unknown, context: FeedContext) =>
    isEntityId(counts.postId) ? context.loaders.posts.load(counts.postId) : null,
};
