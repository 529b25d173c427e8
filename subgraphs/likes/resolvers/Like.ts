import type { LikeDoc } from '../store/likes.js';

export const Like = {
  user: (like: LikeDoc) => ({ __typename: 'User', id: like.userId }),
  createdAt: (like: LikeDoc) => like.likedAt,
};
