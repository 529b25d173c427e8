import type { Db } from 'mongodb';
import type { Cache } from '../../../platform/cache.js';
import { postCounterStore } from '../../../platform/counters.js';

/** One counter document per post, on the post's logical shard, read through the cache. */
export function commentCountsStore(db: Db, cache: Cache) {
  return postCounterStore(db, { collection: 'comment_counts', field: 'commentCount', cache });
}

export type CommentCountsStore = ReturnType<typeof commentCountsStore>;
