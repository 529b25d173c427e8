import type { Db } from 'mongodb';
import type { Cache } from '../../../platform/cache.js';
import { postCounterStore } from '../../../platform/counters.js';
import { shardOfId } from '../../../platform/ids.js';
import type { CommentDoc } from './comments.js';

/** What a page of comments shows of each: all a `Comment` resolver reads. */
export type CommentView = Pick<
  CommentDoc,
  '_id' | 'postId' | 'authorId' | 'authorUsername' | 'body' | 'createdAt' | 'editedAt'
>;

/**
 * How many of a post's first comments its counter keeps: a page of one fewer (the feed's preview,
 * `comments(first: 2)`) is served from them, the extra one telling whether more follow.
 */
export const HEAD_SIZE = 3;

type EncodedView = [string, string, string, string | null, string, number, number | null];

/**
 * One counter document per post, on the post's logical shard, read through the cache, with the
 * post's first live comments beside the count.
 */
export function commentCountsStore(db: Db, cache: Cache) {
  const comments = db.collection<CommentDoc>('comments');
  return postCounterStore<CommentView>(db, {
    collection: 'comment_counts',
    field: 'commentCount',
    cache,
    head: {
      field: 'commentHead',
      read: (postId) =>
        comments
          .find(
            { shard: shardOfId(postId), postId, deleted: false },
            {
              projection: {
                postId: 1,
                authorId: 1,
                authorUsername: 1,
                body: 1,
                createdAt: 1,
                editedAt: 1,
              },
              sort: { _id: 1 },
              limit: HEAD_SIZE,
            },
          )
          .toArray(),
      encode: (view): EncodedView => [
        view._id,
        view.postId,
        view.authorId,
        view.authorUsername ?? null,
        view.body,
        view.createdAt.getTime(),
        view.editedAt?.getTime() ?? null,
      ],
      decode(value) {
        const [id, postId, authorId, authorUsername, body, createdAt, editedAt] =
          value as EncodedView;
        return {
          _id: id,
          postId,
          authorId,
          ...(authorUsername === null ? {} : { authorUsername }),
          body,
          createdAt: new Date(createdAt),
          editedAt: editedAt === null ? null : new Date(editedAt),
        };
      },
    },
  });
}

export type CommentCountsStore = ReturnType<typeof commentCountsStore>;
