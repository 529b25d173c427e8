import type { Db } from 'mongodb';
import { assetsStore } from './store/assets.js';
import { followersStore } from './store/followers.js';
import { followsStore } from './store/follows.js';
import { postsStore } from './store/posts.js';
import { usersStore } from './store/users.js';

export function feedStores(db: Db) {
  const users = usersStore(db);
  const posts = postsStore(db);
  const followers = followersStore(db);
  const follows = followsStore(db, { followers, users });
  const assets = assetsStore(db);
  return {
    users,
    posts,
    followers,
    follows,
    assets,
    /** Idempotent: run at every start-up. */
    async ensureIndexes() {
      await Promise.all(
        [users, posts, followers, follows, assets].map((store) => store.ensureIndexes()),
      );
    },
  };
}

export type FeedStores = ReturnType<typeof feedStores>;
