import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { finished } from 'node:stream/promises';
import busboy from 'busboy';
import type { TokenVerifier, Viewer } from '../../../platform/auth.js';
import { sendError, type Route } from '../../../platform/http.js';
import type { Logger } from '../../../platform/logger.js';
import type { AssetDoc, AssetsStore } from '../store/assets.js';
import type { BlobStore } from './blob-store.js';
import type { MediaUrls } from './config.js';
import { sniffMediaType, SNIFF_BYTES, type MediaKind, type SniffedType } from './sniff.js';

/** Multipart boundaries and part headers on top of the file itself. */
const MULTIPART_OVERHEAD = 64 * 1024;

/** A refusal the client can act on, answered as `{ error: { code, message } }`. */
export class UploadError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const ACCEPTED = 'JPEG, PNG, WebP, HEIC or AVIF photos and MP4 or QuickTime videos';

/**
 * Sniffs, counts, limits and hashes the bytes of one upload on their way to the blob store. The
 * type is known from the first SNIFF_BYTES, before anything is stored; the size limit of that
 * kind then fails the stream as soon as it is passed.
 */
class UploadMeter extends Transform {
  size = 0;
  /** Resolves with the sniffed type, or rejects when the stream fails first. */
  readonly typed: Promise<SniffedType>;
  private type: SniffedType | undefined;
  private head: Buffer[] = [];
  private headLength = 0;
  private readonly hash = createHash('sha256');
  private settle!: { resolve: (type: SniffedType) => void; reject: (error: Error) => void };

  constructor(private readonly maxBytes: Record<MediaKind, number>) {
    super();
    this.typed = new Promise((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    // Awaited only once the upload starts; an early failure must not count as unhandled.
    this.typed.catch(() => undefined);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
    if (this.type) return this.accept(chunk, callback);
    this.head.push(chunk);
    this.headLength += chunk.length;
    if (this.headLength < SNIFF_BYTES) return callback();
    this.decide(callback);
  }

  override _flush(callback: TransformCallback) {
    if (this.type) return callback();
    if (this.headLength === 0) {
      return callback(new UploadError(400, 'BAD_USER_INPUT', 'The file is empty'));
    }
    // The whole file is shorter than the sniff buffer: its bytes go out with the flush.
    this.decide(callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void) {
    this.settle.reject(error ?? new Error('upload closed'));
    callback(error);
  }

  /** Hex SHA-256 of every byte that went through; read once the stream has ended. */
  digest(): string {
    return this.hash.digest('hex');
  }

  private decide(callback: TransformCallback) {
    const head = Buffer.concat(this.head);
    this.head = [];
    const type = sniffMediaType(head);
    if (!type) {
      return callback(
        new UploadError(415, 'UNSUPPORTED_MEDIA_TYPE', `Not a supported file: upload ${ACCEPTED}`),
      );
    }
    this.type = type;
    this.settle.resolve(type);
    this.accept(head, callback);
  }

  private accept(chunk: Buffer, callback: TransformCallback) {
    const kind = (this.type as SniffedType).kind;
    this.size += chunk.length;
    if (this.size > this.maxBytes[kind]) {
      const what = kind === 'PHOTO' ? 'A photo' : 'A video';
      return callback(
        new UploadError(
          413,
          'PAYLOAD_TOO_LARGE',
          `${what} may be at most ${this.maxBytes[kind]} bytes`,
        ),
      );
    }
    this.hash.update(chunk);
    callback(null, chunk);
  }
}

/** The file's bytes: the part named `file` of a multipart form, or else the whole body. */
function fileStream(req: IncomingMessage): Promise<Readable> {
  if (!/^multipart\/form-data/i.test(req.headers['content-type'] ?? '')) {
    return Promise.resolve(req);
  }
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: req.headers,
        limits: { files: 1, fields: 20, fieldSize: 10_000, parts: 30 },
      });
    } catch {
      reject(new UploadError(400, 'BAD_USER_INPUT', 'The multipart/form-data header is malformed'));
      return;
    }
    parser.on('file', (name, file) => {
      if (name === 'file') resolve(file);
      else file.resume();
    });
    // Either settles the promise only when no file came first.
    parser.once('error', (error: Error) =>
      reject(new UploadError(400, 'BAD_USER_INPUT', `Malformed multipart body: ${error.message}`)),
    );
    parser.once('close', () =>
      reject(new UploadError(400, 'BAD_USER_INPUT', 'The form has no file in the field "file"')),
    );
    req.pipe(parser);
  });
}

async function viewerOf(auth: TokenVerifier, req: IncomingMessage): Promise<Viewer> {
  let viewer: Viewer | null;
  try {
    viewer = await auth.fromHeader(req.headers.authorization);
  } catch (error) {
    throw new UploadError(401, 'UNAUTHENTICATED', (error as Error).message);
  }
  if (!viewer) throw new UploadError(401, 'UNAUTHENTICATED', 'Uploads need a bearer token');
  return viewer;
}

export interface UploadDeps {
  assets: AssetsStore;
  blobs: BlobStore;
  auth: TokenVerifier;
  urls: MediaUrls;
  maxBytes: Record<MediaKind, number>;
  /** Tells the metadata consumer; never fails the upload (the repair pass retells). */
  announce(asset: AssetDoc): Promise<void>;
  logger: Logger;
}

/**
 * `POST /assets`: streams one photo or video into the blob store and answers 201 with
 * `{ id, kind, url }`. The asset is recorded as uploading before the first byte is stored, so
 * whatever fails (a refused type, the size limit, a client that goes away, a crash) leaves
 * nothing behind: the blob and the record are deleted at once, or by the repair pass.
 */
export function uploadRoute(deps: UploadDeps): Route {
  const ceiling = Math.max(deps.maxBytes.PHOTO, deps.maxBytes.VIDEO) + MULTIPART_OVERHEAD;

  async function store(req: IncomingMessage, viewer: Viewer) {
    const meter = new UploadMeter(deps.maxBytes);
    // Its errors reach us through `typed` and the blob store's put; none may go unheard.
    meter.on('error', () => undefined);
    const source = await fileStream(req);
    source.pipe(meter);
    // pipe() forwards no errors: a client that goes away mid-body must fail the upload. For a
    // form, the request is watched too, since the part's stream would just stop.
    const abort = (error: Error) => meter.destroy(error);
    finished(source).catch(abort);
    if (source !== req) finished(req).catch(abort);
    source.once('error', abort);

    const type = await meter.typed;
    const asset = await deps.assets.begin(viewer.id, type.kind, type.contentType);
    try {
      await deps.blobs.put(asset._id, meter, type.contentType);
      if (!(await deps.assets.markStored(asset._id, meter.size, meter.digest()))) {
        throw new Error('the upload was given up on before it finished');
      }
    } catch (error) {
      await Promise.all([deps.blobs.delete(asset._id), deps.assets.remove(asset._id)]).catch(
        (cleanup: unknown) =>
          deps.logger.warn(
            { err: cleanup, assetId: asset._id },
            'upload cleanup failed; repair will',
          ),
      );
      throw error;
    }
    await deps.announce(asset);
    return asset;
  }

  return async (req: IncomingMessage, res: ServerResponse, requestId: string) => {
    try {
      if (req.method !== 'POST') {
        throw new UploadError(405, 'METHOD_NOT_ALLOWED', 'Upload with POST');
      }
      const viewer = await viewerOf(deps.auth, req);
      if (Number(req.headers['content-length'] ?? 0) > ceiling) {
        throw new UploadError(413, 'PAYLOAD_TOO_LARGE', `Uploads may be at most ${ceiling} bytes`);
      }
      const asset = await store(req, viewer);
      res.writeHead(201, { 'content-type': 'application/json; charset=utf-8' });
      res.end(
        JSON.stringify({ id: asset._id, kind: asset.kind, url: deps.urls.original(asset._id) }),
      );
    } catch (error) {
      if (req.socket.destroyed) {
        deps.logger.info({ requestId }, 'upload aborted by the client; nothing kept');
        return;
      }
      if (error instanceof UploadError) {
        refuse(req, res, error);
        return;
      }
      deps.logger.error({ err: error, requestId }, 'upload failed');
      // The database or the store failed; nothing of the upload is kept.
      refuse(
        req,
        res,
        new UploadError(503, 'UNAVAILABLE', 'The upload could not be stored; try again'),
      );
    }
  };
}

/**
 * Answers at once, then reads and drops the rest of the body: a client still sending gets the
 * answer, where closing the connection would reset it mid-write and lose the answer.
 * Node's `requestTimeout` bounds how long a client may keep sending.
 */
function refuse(req: IncomingMessage, res: ServerResponse, error: UploadError) {
  sendError(res, error.status, error.code, error.message);
  req.unpipe();
  req.resume();
}
