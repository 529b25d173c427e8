import type { Db } from 'mongodb';
import { newId, shardOfId, shardOfUser } from '../../../platform/ids.js';
import { BACKGROUND_SCAN } from '../../../platform/mongo.js';

export interface AssetThumbnail {
  sha256: string;
  size: number;
}

/** An uploaded photo or video; its bytes are blobs named after its id (see media/blob-store.ts). */
export interface AssetDoc {
  _id: string;
  /** The uploader's logical shard, so their assets sit beside their posts. */
  shard: number;
  ownerId: string;
  kind: 'PHOTO' | 'VIDEO';
  /** Sniffed from the bytes, never taken from the client. */
  contentType: string;
  /** `uploading` while bytes stream in; `stored` once all are; never served before that. */
  status: 'uploading' | 'stored';
  createdAt: Date;
  size?: number;
  /** Hex SHA-256 of the bytes: the strong ETag. */
  sha256?: string;
  storedAt?: Date;
  width?: number | null;
  height?: number | null;
  durationMs?: number | null;
  thumbnail?: AssetThumbnail | null;
  /** Set once extraction ran, whatever it found: the metadata above is then final. */
  processedAt?: Date;
}

export interface AssetMetadata {
  width: number | null;
  height: number | null;
  durationMs: number | null;
  thumbnail: AssetThumbnail | null;
}

export function assetsStore(db: Db) {
  const assets = db.collection<AssetDoc>('assets');
  const keyOf = (id: string) => ({ shard: shardOfId(id), _id: id });

  return {
    async ensureIndexes() {
      await assets.createIndex({ shard: 1, _id: 1 });
      await assets.createIndex({ status: 1, createdAt: 1 });
    },

    /** Recorded before the first byte is stored, so a crash mid-upload leaves a trace to clean. */
    async begin(ownerId: string, kind: AssetDoc['kind'], contentType: string): Promise<AssetDoc> {
      const now = new Date();
      const shard = shardOfUser(ownerId);
      const doc: AssetDoc = {
        _id: newId(shard, now.getTime()),
        shard,
        ownerId,
        kind,
        contentType,
        status: 'uploading',
        createdAt: now,
      };
      await assets.insertOne(doc);
      return doc;
    },

    /** False when the upload was already given up on (the repair pass removed it). */
    async markStored(id: string, size: number, sha256: string): Promise<boolean> {
      const result = await assets.updateOne(
        { ...keyOf(id), status: 'uploading' },
        { $set: { status: 'stored', size, sha256, storedAt: new Date() } },
      );
      return result.modifiedCount === 1;
    },

    async remove(id: string): Promise<void> {
      await assets.deleteOne(keyOf(id));
    },

    /** Stored assets only: one still uploading is nobody's to use or see. */
    async byIds(ids: readonly string[]): Promise<AssetDoc[]> {
      const shards = [...new Set(ids.map(shardOfId))];
      return assets
        .find(
          { shard: { $in: shards }, _id: { $in: [...ids] }, status: 'stored' },
          { batchSize: ids.length + 1 },
        )
        .toArray();
    },

    async setMetadata(id: string, metadata: AssetMetadata): Promise<void> {
      await assets.updateOne(keyOf(id), { $set: { ...metadata, processedAt: new Date() } });
    },

    /** Uploads begun before `before` and never finished: the process died mid-upload. */
    abandonedUploads(before: Date): Promise<AssetDoc[]> {
      return assets
        .find(
          { status: 'uploading', createdAt: { $lt: before } },
          { comment: BACKGROUND_SCAN, limit: 1_000 },
        )
        .toArray();
    },

    /**
     * Stored before `before` and not processed, first stored first: their event may never have
     * gone out.
     */
    unprocessed(before: Date): Promise<AssetDoc[]> {
      return assets
        .find(
          { status: 'stored', processedAt: { $exists: false }, storedAt: { $lt: before } },
          { comment: BACKGROUND_SCAN, sort: { storedAt: 1 }, limit: 1_000 },
        )
        .toArray();
    },
  };
}

export type AssetsStore = ReturnType<typeof assetsStore>;
