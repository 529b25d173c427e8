import type { Db } from 'mongodb';
import type { Cache } from '../../platform/cache.js';
import { assetsStore } from './store/assets.js';
import { followersStore } from './store/followers.js';
import { followsStore, type AnnounceFollow } from './store/follows.js';
import { postsStore } from './store/posts.js';
import { timelinesStore } from './store/timelines.js';
import { usersStore } from './store/users.js';

export function feedStores(
  db: Db,
  options: {
    timelineLength: number;
    timelineMaxAgeDays: number;
    cache: Cache;
    announceFollow: AnnounceFollow;
  },
) {
  const users = usersStore(db, options.cache);
  const posts = postsStore(db, options.cache);
  const followers = followersStore(db);
  const follows = followsStore(db, { followers, users, announce: options.announceFollow });
  const timelines = timelinesStore(db, {
    length: options.timelineLength,
    maxAgeDays: options.timelineMaxAgeDays,
  });
  const assets = assetsStore(db);
  return {
    users,
    posts,
    followers,
    follows,
    timelines,
    assets,
    /** Drops cached users and posts the database is behind (after a rollback or a restore). */
    reconcileCache: async () => (await users.reconcileCache()) + (await posts.reconcileCache()),
    /** Idempotent: run at every start-up. */
    async ensureIndexes() {
      await Promise.all(
        [users, posts, followers, follows, timelines, assets].map((store) => store.ensureIndexes()),
      );
    },
  };
}

export type FeedStores = ReturnType<typeof feedStores>;
