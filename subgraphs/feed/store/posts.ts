import type { Db } from 'mongodb';
import type { Cache } from '../../../platform/cache.js';
import { newId, shardOfId, shardOfUser } from '../../../platform/ids.js';
import type { Page } from '../../../platform/connection.js';
import { pagesByParent } from '../../../platform/grouped-pages.js';
import { BACKGROUND_SCAN } from '../../../platform/mongo.js';

/**
 * With `assetId`, an upload: its URL is made from the asset id at read time (so a new CDN needs no
 * rewrite) and its metadata read from the asset, where extraction records it once ready.
 */
export interface MediaDoc {
  kind: 'PHOTO' | 'VIDEO';
  assetId?: string;
  url?: string;
  width?: number | null;
  height?: number | null;
  durationMs?: number | null;
  thumbnailUrl?: string | null;
}

export interface PostDoc {
  _id: string;
  shard: number;
  authorId: string;
  caption: string | null;
  media: MediaDoc[];
  createdAt: Date;
  updatedAt: Date;
  /** Set from the delete until every subgraph has been told; the post reads as absent. */
  deleted?: boolean;
  /** Set from the insert until `post.created` is published: the repair pass publishes it then. */
  unannounced?: boolean;
  /**
   * Set by a caption edit until its `post.edited` is published (the edit of `updatedAt`); the
   * repair pass publishes the caption as it then is.
   */
  editUnannounced?: boolean;
}

/** Posts as cached: JSON, with the dates as ISO strings. */
type CachedPost = Omit<PostDoc, 'createdAt' | 'updatedAt'> & {
  createdAt: string;
  updatedAt: string;
};

/**
 * Posts by id are read through the cache; every write puts the post as it now is (a deleted one
 * as a tombstone), with its `updatedAt` as the version.
 */
export function postsStore(db: Db, cache: Cache) {
  const posts = db.collection<PostDoc>('posts');
  const cached = cache.of<PostDoc>('post', {
    version: (post) => post.updatedAt.getTime(),
    encode: (post) => post,
    decode: (value) => {
      const post = value as CachedPost;
      return { ...post, createdAt: new Date(post.createdAt), updatedAt: new Date(post.updatedAt) };
    },
    deleted: (post) => post.deleted === true,
  });
  const put = (post: PostDoc) => cached.put([{ id: post._id, doc: post }]);
  const keyOf = (id: string) => ({ shard: shardOfId(id), _id: id });
  const olderThan = (page: Page) => (page.after ? { _id: { $lt: page.after } } : {});
  const live = { deleted: { $ne: true } };
  const fromDatabase = async (ids: string[]) => {
    const fetched = await posts
      .find(
        { shard: { $in: [...new Set(ids.map(shardOfId))] }, _id: { $in: ids }, ...live },
        { batchSize: ids.length + 1 },
      )
      .toArray();
    return fetched.map((post) => ({ id: post._id, doc: post }));
  };

  return {
    async ensureIndexes() {
      await posts.createIndex({ shard: 1, _id: 1 });
      await posts.createIndex({ shard: 1, authorId: 1, _id: -1 });
      await posts.createIndex({ deleted: 1, updatedAt: 1 }, { sparse: true });
      await posts.createIndex({ unannounced: 1, createdAt: 1 }, { sparse: true });
      await posts.createIndex({ editUnannounced: 1, updatedAt: 1 }, { sparse: true });
    },

    async create(authorId: string, caption: string | null, media: MediaDoc[]): Promise<PostDoc> {
      const now = new Date();
      // The post lives on its author's logical shard, so "posts by author" is a one-shard query.
      const shard = shardOfUser(authorId);
      const doc: PostDoc = {
        _id: newId(shard, now.getTime()),
        shard,
        authorId,
        caption,
        media,
        createdAt: now,
        updatedAt: now,
        unannounced: true,
      };
      await posts.insertOne(doc);
      await put(doc);
      return doc;
    },

    async announced(id: string): Promise<void> {
      await posts.updateOne(keyOf(id), { $unset: { unannounced: true } });
    },

    /**
     * Posts created more than `olderThanMs` ago whose `post.created` may never have gone out,
     * oldest first: consumers see them in the order they were written.
     */
    unannouncedBefore(olderThanMs: number): Promise<PostDoc[]> {
      return posts
        .find(
          { unannounced: true, createdAt: { $lt: new Date(Date.now() - olderThanMs) } },
          { comment: BACKGROUND_SCAN, sort: { createdAt: 1 }, limit: 1_000 },
        )
        .toArray();
    },

    /** Unless the caption changed again since `updatedAt`: that edit's announcement is still due. */
    async editAnnounced(id: string, updatedAt: Date): Promise<void> {
      await posts.updateOne(
        { ...keyOf(id), updatedAt, editUnannounced: true },
        { $unset: { editUnannounced: true } },
      );
    },

    /**
     * Live posts whose caption was edited more than `olderThanMs` ago and whose `post.edited` may
     * never have gone out, oldest edit first. A deleted post's edit is not told: its notifications
     * are going.
     */
    editUnannouncedBefore(olderThanMs: number): Promise<PostDoc[]> {
      return posts
        .find(
          {
            editUnannounced: true,
            updatedAt: { $lt: new Date(Date.now() - olderThanMs) },
            ...live,
          },
          { comment: BACKGROUND_SCAN, sort: { updatedAt: 1 }, limit: 1_000 },
        )
        .toArray();
    },

    async byIds(ids: readonly string[]): Promise<PostDoc[]> {
      const found = await cached.through(ids, fromDatabase);
      // A deleted post is cached as a tombstone.
      return [...found.values()].filter((post) => !post.deleted);
    },

    /** Drops cached posts the database is behind (after a rollback or a restore). */
    reconcileCache(): Promise<number> {
      return cached.reconcile(fromDatabase);
    },

    /** The newest posts of any of `authorIds`: the home feed, fanned out on read. */
    async byAuthors(authorIds: readonly string[], page: Page): Promise<PostDoc[]> {
      const shards = [...new Set(authorIds.map(shardOfUser))];
      return posts
        .find(
          {
            shard: { $in: shards },
            authorId: { $in: [...authorIds] },
            ...live,
            ...olderThan(page),
          },
          { sort: { _id: -1 }, limit: page.limit + 1, batchSize: page.limit + 1 },
        )
        .toArray();
    },

    /**
     * The ids of the newest `limit` posts of any of `authorIds`, for building a timeline: only
     * the two fields it keeps, since a whole timeline's posts in full were hundreds of KB a build.
     */
    recentIdsByAuthors(
      authorIds: readonly string[],
      limit: number,
    ): Promise<Pick<PostDoc, '_id' | 'authorId'>[]> {
      const shards = [...new Set(authorIds.map(shardOfUser))];
      return posts
        .find(
          { shard: { $in: shards }, authorId: { $in: [...authorIds] }, ...live },
          { sort: { _id: -1 }, limit, batchSize: limit, projection: { _id: 1, authorId: 1 } },
        )
        .toArray();
    },

    /** One page of posts for each author, in one round trip. */
    pagesByAuthor(authorIds: readonly string[], page: Page): Promise<Map<string, PostDoc[]>> {
      return pagesByParent(posts, {
        parentField: 'authorId',
        parents: authorIds.map((id) => ({ id, shard: shardOfUser(id) })),
        direction: -1,
        page,
        where: live,
      });
    },

    /**
     * Only the author's own post matches, so a concurrent delete or a stranger changes nothing.
     * Marked `editUnannounced` in the same write, so a crash before `post.edited` goes out leaves
     * the repair pass something to find.
     */
    async updateCaption(
      id: string,
      authorId: string,
      caption: string | null,
    ): Promise<PostDoc | null> {
      const updated = await posts.findOneAndUpdate(
        { ...keyOf(id), authorId, ...live },
        { $set: { caption, updatedAt: new Date(), editUnannounced: true } },
        { returnDocument: 'after' },
      );
      if (updated) await put(updated);
      return updated;
    },

    /**
     * Hides the post at once and keeps it, marked, until `purge`: in between, every subgraph is
     * told (a durable event), and the repair pass retells it if that failed.
     */
    async markDeleted(id: string, authorId: string): Promise<boolean> {
      const deleted = await posts.findOneAndUpdate(
        { ...keyOf(id), authorId, ...live },
        { $set: { deleted: true, updatedAt: new Date() } },
        { returnDocument: 'after' },
      );
      if (deleted) await put(deleted);
      return deleted !== null;
    },

    async purge(id: string): Promise<void> {
      await posts.deleteOne({ ...keyOf(id), deleted: true });
    },

    /**
     * Posts marked deleted for longer than `olderThanMs`, first deleted first: their event may
     * never have gone out.
     */
    deletedBefore(olderThanMs: number): Promise<PostDoc[]> {
      return posts
        .find(
          { deleted: true, updatedAt: { $lt: new Date(Date.now() - olderThanMs) } },
          { comment: BACKGROUND_SCAN, sort: { updatedAt: 1 }, limit: 1_000 },
        )
        .toArray();
    },
  };
}

export type PostsStore = ReturnType<typeof postsStore>;
