import { badInput } from '../../../platform/errors.js';

export const MAX_POST_IDS = 100;

export const Query = {
  postCounts(_root: unknown, args: { postIds: string[] }) {
    if (args.postIds.length > MAX_POST_IDS)
      throw badInput(`postIds takes at most ${MAX_POST_IDS} ids`);
    return args.postIds.map((postId) => ({ postId }));
  },
};
