import type { Db } from 'mongodb';
import { followersStore } from './store/followers.js';
import { followsStore } from './store/follows.js';
import { postsStore } from './store/posts.js';
import { usersStore } from './store/users.js';

export function feedStores(db: Db) {
  const users = usersStore(db);
  const posts = postsStore(db);
  const followers = followersStore(db);
  const follows = followsStore(db, { followers, users });
  return {
    users,
    posts,
    followers,
    follows,
    /** Idempotent: run at every start-up. */
    async ensureIndexes() {
      await Promise.all([users, posts, followers, follows].map((store) => store.ensureIndexes()));
    },
  };
}

export type FeedStores = ReturnType<typeof feedStores>;
