import { isEntityId } from '../../../platform/ids.js';
import type { LikesContext } from '../context.js';

interface PostCountsRef {
  postId: string;
}

export const PostCounts = {
  __resolveReference: (reference: PostCountsRef) => reference,
  likeCount(counts: PostCountsRef, _args: unknown, context: LikesContext) {
    return isEntityId(counts.postId) ? context.loaders.likeCounts.load(counts.postId) : 0;
  },
};
