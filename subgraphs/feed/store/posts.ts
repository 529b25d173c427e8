import type { Db } from 'mongodb';
import { newId, shardOfId, shardOfUser } from '../../../platform/ids.js';
import type { Page } from '../../../platform/connection.js';
import { pagesByParent } from '../../../platform/grouped-pages.js';

export interface MediaDoc {
  kind: 'PHOTO' | 'VIDEO';
  url: string;
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
}

export function postsStore(db: Db) {
  const posts = db.collection<PostDoc>('posts');
  const keyOf = (id: string) => ({ shard: shardOfId(id), _id: id });
  const olderThan = (page: Page) => (page.after ? { _id: { $lt: page.after } } : {});

  return {
    async ensureIndexes() {
      await posts.createIndex({ shard: 1, _id: 1 });
      await posts.createIndex({ shard: 1, authorId: 1, _id: -1 });
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
      };
      await posts.insertOne(doc);
      return doc;
    },

    async byIds(ids: readonly string[]): Promise<PostDoc[]> {
      const shards = [...new Set(ids.map(shardOfId))];
      return posts
        .find({ shard: { $in: shards }, _id: { $in: [...ids] } }, { batchSize: ids.length + 1 })
        .toArray();
    },

    /** The newest posts of any of `authorIds`: the home feed, fanned out on read. */
    async byAuthors(authorIds: readonly string[], page: Page): Promise<PostDoc[]> {
      const shards = [...new Set(authorIds.map(shardOfUser))];
      return posts
        .find(
          { shard: { $in: shards }, authorId: { $in: [...authorIds] }, ...olderThan(page) },
          { sort: { _id: -1 }, limit: page.limit + 1, batchSize: page.limit + 1 },
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
      });
    },

    /** Only the author's own post matches, so a concurrent delete or a stranger changes nothing. */
    async updateCaption(
      id: string,
      authorId: string,
      caption: string | null,
    ): Promise<PostDoc | null> {
      return posts.findOneAndUpdate(
        { ...keyOf(id), authorId },
        { $set: { caption, updatedAt: new Date() } },
        { returnDocument: 'after' },
      );
    },

    async delete(id: string, authorId: string): Promise<boolean> {
      const result = await posts.deleteOne({ ...keyOf(id), authorId });
      return result.deletedCount === 1;
    },
  };
}

export type PostsStore = ReturnType<typeof postsStore>;
