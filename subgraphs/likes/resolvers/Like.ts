import type { LikesContext } from '../context.js';
import type { LikeDoc } from '../store/likes.js';

interface Liker {
  __typename: 'User';
  id: string;
  username: string | undefined;
}

export const Like = {
  user: (like: LikeDoc): Liker => ({
    __typename: 'User',
    id: like.userId,
    username: like.username,
  }),
  createdAt: (like: LikeDoc) => like.likedAt,
};

/** The schema promises `username` on a like's user (`@provides`): kept, or else asked. */
export const User = {
  username: (user: Liker, _args: unknown, context: LikesContext) =>
    user.username ?? context.loaders.usernames.load(user.id),
};
