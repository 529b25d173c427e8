import { isEntityId } from '../../../platform/ids.js';
import type { CommentsContext } from '../context.js';

interface PostCountsRef {
  postId: string;
}

export const PostCounts = {
  __resolveReference: (reference: PostCountsRef) => reference,
  async commentCount(counts: PostCountsRef, _args: unknown, context: CommentsContext) {
    return isEntityId(counts.postId)
      ? (await context.loaders.commentCounters.load(counts.postId)).value
      : 0;
  },
};
