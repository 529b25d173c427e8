import type { Readable } from 'node:stream';

/** Bytes `start` to `end`, both inclusive, as in an HTTP Range header. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Where media bytes live: the source of truth that a CDN fills its caches from. One interface,
 * two backends (GridFS in the feed's own database, S3-compatible object storage), one test suite
 * run against both (tests/integration/blob-store.test.ts). Names are opaque keys chosen by the
 * caller and never reused, so a stored blob never changes.
 */
export interface BlobStore {
  /**
   * Streams `body` under `name`. Resolves once every byte is stored; when `body` fails or is
   * destroyed part-way, rejects with its error and leaves nothing stored under `name`.
   */
  put(name: string, body: Readable, contentType: string): Promise<void>;
  /**
   * The bytes of `name`, all of them or `range`, and the size of the whole blob as stored, which
   * a reader checks against what it recorded before sending a byte; rejects with `BlobNotFound`
   * when absent.
   */
  get(name: string, range?: ByteRange): Promise<StoredBlob>;
  /** Idempotent: deleting an absent blob succeeds. */
  delete(name: string): Promise<void>;
  /** True when the backend answers; for readiness. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export interface StoredBlob {
  body: Readable;
  size: number;
}

export class BlobNotFound extends Error {
  constructor(name: string) {
    super(`No blob named ${name}`);
    this.name = 'BlobNotFound';
  }
}
