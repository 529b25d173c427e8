import type { Db } from 'mongodb';
import type { Page } from '../../../platform/connection.js';
import { repairUnsynced, type Recounted } from '../../../platform/counters.js';
import { pagesByParent } from '../../../platform/grouped-pages.js';
import { newId, shardOfId } from '../../../platform/ids.js';
import { BACKGROUND_SCAN, dropSupersededIndex, staleReads } from '../../../platform/mongo.js';
import type { CommentCountsStore } from './comment-counts.js';

/**
 * Comments live on their post's logical shard (the id says which), so a post's comments, and a
 * comment by id, are one-shard reads. Adding or deleting bumps `version` and leaves
 * `synced: false` until the post's count is recounted; the repair pass finishes what a crash left.
 * The post's author is copied in, so "may the viewer delete this?" needs no other service, and so
 * is the comment's author's username (which never changes), so a page of comments with their
 * authors' names needs none either.
 */
export interface CommentDoc {
  _id: string;
  shard: number;
  postId: string;
  postAuthorId: string;
  authorId: string;
  /** Absent on comments written before names were kept, or by a user who had none then. */
  authorUsername?: string;
  body: string;
  createdAt: Date;
  editedAt: Date | null;
  deleted: boolean;
  version: number;
  synced: boolean;
  updatedAt: Date;
  /**
   * Set by an edit until its `comment.edited` is published (the edit of `editedAt`): apart from
   * `synced`, which belongs to the creation and deletion the post's count depends on.
   */
  editUnannounced?: boolean;
}

/** Puts a change on the durable topic; false when it could not (the repair pass retries). */
export type AnnounceComment = (
  type: 'comment.created' | 'comment.edited' | 'comment.deleted',
  comment: CommentDoc,
  count: Recounted,
) => Promise<boolean>;

export function commentsStore(
  db: Db,
  deps: { counts: CommentCountsStore; announce: AnnounceComment },
) {
  const comments = db.collection<CommentDoc>('comments');
  /** Pages for readers: nobody needs their own write in them within `maxStalenessSeconds`. */
  const staleComments = staleReads(db).collection<CommentDoc>('comments');
  const keyOf = (id: string) => ({ shard: shardOfId(id), _id: id });

  /** The post's live comments counted, and its counter's first comments read again with them. */
  const recountPost = (postId: string) =>
    deps.counts.recount(postId, () =>
      comments.countDocuments({ shard: shardOfId(postId), postId, deleted: false }),
    );

  /** Counted, then announced, then marked synced (or, when deleted, gone): each step idempotent. */
  async function sync(comment: CommentDoc): Promise<Recounted> {
    const count = await recountPost(comment.postId);
    const type = comment.deleted ? 'comment.deleted' : 'comment.created';
    if (!(await deps.announce(type, comment, count))) return count;
    const key = { ...keyOf(comment._id), version: comment.version };
    if (comment.deleted) await comments.deleteOne({ ...key, deleted: true });
    else await comments.updateOne(key, { $set: { synced: true } });
    return count;
  }

  /** The mark stays if the body changed again since: that edit's announcement is due. */
  async function announceEdit(comment: CommentDoc, commentCount: number): Promise<void> {
    const count = { value: commentCount, seq: 0 };
    if (!comment.editedAt || !(await deps.announce('comment.edited', comment, count))) return;
    await comments.updateOne(
      { ...keyOf(comment._id), editedAt: comment.editedAt, editUnannounced: true },
      { $unset: { editUnannounced: true } },
    );
  }

  return {
    async ensureIndexes() {
      await comments.createIndex({ shard: 1, _id: 1 });
      // A post's live comments, oldest first: its pages walk it, and its recount's count
      // ({shard, postId, deleted}) is answered from the keys alone, without reading each comment.
      await comments.createIndex({ shard: 1, postId: 1, deleted: 1, _id: 1 });
      await dropSupersededIndex(comments, 'shard_1_postId_1__id_1');
      await comments.createIndex({ synced: 1, updatedAt: 1 });
      await comments.createIndex({ editUnannounced: 1, editedAt: 1 }, { sparse: true });
    },

    async add(
      post: { id: string; authorId: string },
      author: { id: string; username: string | null },
      body: string,
    ): Promise<{ comment: CommentDoc; count: Recounted }> {
      const now = new Date();
      const comment: CommentDoc = {
        _id: newId(shardOfId(post.id), now.getTime()),
        shard: shardOfId(post.id),
        postId: post.id,
        postAuthorId: post.authorId,
        authorId: author.id,
        ...(author.username === null ? {} : { authorUsername: author.username }),
        body,
        createdAt: now,
        editedAt: null,
        deleted: false,
        version: 1,
        synced: false,
        updatedAt: now,
      };
      await comments.insertOne(comment);
      const count = await sync(comment);
      return { comment: { ...comment, synced: true }, count };
    },

    async byIds(ids: readonly string[]): Promise<CommentDoc[]> {
      return comments
        .find(
          {
            shard: { $in: [...new Set(ids.map(shardOfId))] },
            _id: { $in: [...ids] },
            deleted: false,
          },
          { batchSize: ids.length + 1 },
        )
        .toArray();
    },

    /**
     * Only the author's own live comment matches. Marked `editUnannounced` in the same write, so
     * an edit whose announcement fails or dies with the process is announced by the repair pass,
     * which also recounts the post: the count stays, but the comment may be one its counter keeps.
     */
    async edit(
      id: string,
      authorId: string,
      body: string,
    ): Promise<{ comment: CommentDoc; count: Recounted } | null> {
      const now = new Date();
      const comment = await comments.findOneAndUpdate(
        { ...keyOf(id), authorId, deleted: false },
        { $set: { body, editedAt: now, editUnannounced: true } },
        { returnDocument: 'after' },
      );
      return comment && { comment, count: await recountPost(comment.postId) };
    },

    /** Announces an edit (`commentCount` is the post's count, which an edit leaves as it is). */
    announceEdit,

    /** The post's new count, or null when there was no such live comment. */
    async delete(id: string): Promise<Recounted | null> {
      const comment = await comments.findOneAndUpdate(
        { ...keyOf(id), deleted: false },
        { $set: { deleted: true, synced: false, updatedAt: new Date() }, $inc: { version: 1 } },
        { returnDocument: 'after' },
      );
      return comment ? sync(comment) : null;
    },

    /** Every comment of a deleted post. Idempotent. */
    async forgetPost(postId: string): Promise<void> {
      await comments.deleteMany({ shard: shardOfId(postId), postId });
    },

    pagesByPost(postIds: readonly string[], page: Page): Promise<Map<string, CommentDoc[]>> {
      return pagesByParent(staleComments, {
        parentField: 'postId',
        parents: postIds.map((id) => ({ id, shard: shardOfId(id) })),
        direction: 1,
        page,
        where: { deleted: false },
      });
    },

    /** Unsynced creations and deletions, then unannounced edits of live comments: oldest first. */
    async repair(olderThanMs: number): Promise<number> {
      const synced = await repairUnsynced(comments, olderThanMs, sync);
      const edited = await comments
        .find(
          {
            editUnannounced: true,
            editedAt: { $lt: new Date(Date.now() - olderThanMs) },
            deleted: false,
          },
          { comment: BACKGROUND_SCAN, sort: { editedAt: 1 }, limit: 1_000 },
        )
        .toArray();
      for (const comment of edited) {
        await announceEdit(comment, (await recountPost(comment.postId)).value);
      }
      return synced + edited.length;
    },
  };
}

export type CommentsStore = ReturnType<typeof commentsStore>;
