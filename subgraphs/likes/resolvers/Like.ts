import { providedUsername, type NamedUser } from '../../../platform/user-directory.js';
import type { LikeDoc } from '../store/likes.js';

export const Like = {
  user: (like: LikeDoc): NamedUser => ({
    __typename: 'User',
    id: like.userId,
    username: like.username,
  }),
  createdAt: (like: LikeDoc) => like.likedAt,
};

/** The schema promises `username` on the users it hands out (`@provides`). */
export const User = providedUsername;
