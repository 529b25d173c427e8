import DataLoader from 'dataloader';
import { inIdOrder, pageLoader } from '../../platform/grouped-pages.js';
import { measuredBatch, type Metrics } from '../../platform/metrics.js';
import type { AssetDoc } from './store/assets.js';
import type { PostDoc } from './store/posts.js';
import type { UserDoc } from './store/users.js';
import type { FeedStores } from './stores.js';

/** Per request: each batches every load of one tick into one database command. */
export function feedLoaders(stores: FeedStores, viewerId: string | null, metrics: Metrics) {
  return {
    users: new DataLoader<string, UserDoc | null>(
      measuredBatch(metrics, 'users', async (ids) => inIdOrder(ids, await stores.users.byIds(ids))),
    ),
    posts: new DataLoader<string, PostDoc | null>(
      measuredBatch(metrics, 'posts', async (ids) => inIdOrder(ids, await stores.posts.byIds(ids))),
    ),
    /** Stored assets by id: the media of posts made from uploads, and createPost's checks. */
    assets: new DataLoader<string, AssetDoc | null>(
      measuredBatch(metrics, 'assets', async (ids) =>
        inIdOrder(ids, await stores.assets.byIds(ids)),
      ),
    ),
    /** User ids by lower-cased username: who a mention names. */
    usernames: new DataLoader<string, string | null>(
      measuredBatch(metrics, 'usernames', async (names) => {
        const ids = await stores.users.idsByUsernames(names);
        return names.map((name) => ids.get(name) ?? null);
      }),
    ),
    viewerFollows: new DataLoader<string, boolean>(
      measuredBatch(metrics, 'viewerFollows', async (ids) => {
        if (!viewerId) return ids.map(() => false);
        const followed = await stores.follows.followedAmong(viewerId, ids);
        return ids.map((id) => followed.has(id));
      }),
    ),
    postsByAuthor: pageLoader<PostDoc>(metrics, 'postsByAuthor', (authorIds, page) =>
      stores.posts.pagesByAuthor(authorIds, page),
    ),
  };
}

export type FeedLoaders = ReturnType<typeof feedLoaders>;
