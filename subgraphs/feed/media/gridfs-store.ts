import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { GridFSBucket, type Db, type ObjectId } from 'mongodb';
import { pingMongo } from '../../../platform/mongo.js';
import { BlobNotFound, type BlobStore, type ByteRange } from './blob-store.js';

/** The GridFS bucket: collections `media.files` and `media.chunks` in the feed's database. */
export const GRIDFS_BUCKET = 'media';

/**
 * Blobs in GridFS, the default: no server beyond MongoDB. A blob's name is its file `_id`, so a
 * read finds the file by `_id` and its chunks by `files_id`, the leading field of the chunks'
 * shard key; `media.files` holds one small document per blob and stays unsharded.
 */
export function gridfsBlobStore(db: Db): BlobStore {
  const bucket = new GridFSBucket(db, { bucketName: GRIDFS_BUCKET });
  // GridFS takes any _id; the driver's types only say ObjectId.
  const fileId = (name: string) => name as unknown as ObjectId;

  async function remove(name: string) {
    try {
      await bucket.delete(fileId(name));
    } catch (error) {
      // The driver reports an absent file as an error, after deleting any orphaned chunks.
      if (!/File not found/.test((error as Error).message)) throw error;
    }
  }

  return {
    async put(name, body, contentType) {
      const upload = bucket.openUploadStreamWithId(fileId(name), name, {
        metadata: { contentType },
      });
      try {
        await pipeline(body, upload);
      } catch (error) {
        // The files document is only written at the end, so the chunks are all there is to drop.
        await upload.abort().catch(() => undefined);
        await remove(name);
        throw error;
      }
    },

    async get(name, range?: ByteRange) {
      const found = await db
        .collection<{ length: number }>(`${GRIDFS_BUCKET}.files`)
        .findOne({ _id: fileId(name) }, { projection: { length: 1 } });
      if (!found) throw new BlobNotFound(name);
      const body = bucket.openDownloadStream(
        fileId(name),
        range ? { start: range.start, end: range.end + 1 } : {},
      ) as Readable;
      return { body, size: found.length };
    },

    delete: remove,

    ping: () => pingMongo(db),

    async close() {
      // The database connection belongs to the service.
    },
  };
}
