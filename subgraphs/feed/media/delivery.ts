import type { IncomingMessage, ServerResponse } from 'node:http';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { sendError, type Route } from '../../../platform/http.js';
import { isEntityId } from '../../../platform/ids.js';
import type { Logger } from '../../../platform/logger.js';
import type { AssetsStore } from '../store/assets.js';
import { BlobNotFound, type BlobStore, type ByteRange } from './blob-store.js';

/** Asset ids are never reused and their bytes never change: caches may keep them for a year. */
export const IMMUTABLE = 'public, max-age=31536000, immutable';

/** A blob to serve: its name in the store, its type, size and content hash. */
interface Servable {
  name: string;
  contentType: string;
  size: number;
  sha256: string;
}

/**
 * The one byte range of a `Range` header, `undefined` when the header is absent or not a single
 * byte range (served whole, as RFC 9110 allows), or `'unsatisfiable'`.
 */
export function parseRange(
  header: string | undefined,
  size: number,
): ByteRange | 'unsatisfiable' | undefined {
  const match = header?.match(/^bytes=(\d*)-(\d*)$/);
  if (!match) return undefined;
  const [, from = '', to = ''] = match;
  if (from === '' && to === '') return undefined;
  if (from === '') {
    // The last `to` bytes.
    const length = Number(to);
    if (length === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - length), end: size - 1 };
  }
  const start = Number(from);
  const end = to === '' ? size - 1 : Math.min(Number(to), size - 1);
  if (start >= size) return 'unsatisfiable';
  if (end < start) return undefined;
  return { start, end };
}

/** Weak comparison, as If-None-Match requires; `*` matches anything. */
function matchesAny(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  const bare = (tag: string) => tag.trim().replace(/^W\//, '');
  return header.split(',').some((tag) => tag.trim() === '*' || bare(tag) === etag);
}

async function servableOf(assets: AssetsStore, path: string): Promise<Servable | null> {
  const [, , id = '', extra, ...rest] = path.split('/');
  if (!isEntityId(id) || rest.length > 0 || (extra !== undefined && extra !== 'thumbnail')) {
    return null;
  }
  const [asset] = await assets.byIds([id]);
  if (!asset?.sha256 || asset.size === undefined) return null;
  if (extra === undefined) {
    return { name: id, contentType: asset.contentType, size: asset.size, sha256: asset.sha256 };
  }
  if (!asset.thumbnail) return null;
  return {
    name: thumbnailBlobName(id),
    contentType: 'image/jpeg',
    size: asset.thumbnail.size,
    sha256: asset.thumbnail.sha256,
  };
}

/**
 * Passes the bytes through and fails at the end if they were not `promised` many: a store that
 * ends early (chunks missing under a whole-looking record) must not end the response normally,
 * or the client would wait for the promised rest on a kept-alive connection.
 */
function exactly(promised: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      callback(null, chunk);
    },
    flush(callback) {
      callback(seen === promised ? null : new Error(`the store gave ${seen} of ${promised} bytes`));
    },
  });
}

export function thumbnailBlobName(assetId: string): string {
  return `${assetId}.thumbnail`;
}

/**
 * `GET /media/<id>` and `GET /media/<id>/thumbnail`: the bytes with their sniffed type, a strong
 * ETag (the content hash), immutable caching, 304 for a matching If-None-Match, and one byte range
 * (206, or 416 when unsatisfiable) for video seeking. A CDN in front serves repeats from its edge.
 */
export function deliveryRoute(deps: {
  assets: AssetsStore;
  blobs: BlobStore;
  logger: Logger;
}): Route {
  return async (req: IncomingMessage, res: ServerResponse, requestId: string) => {
    try {
      await serve(req, res, requestId);
    } catch (error) {
      // The store or the database failed: a JSON error like every other answer here.
      deps.logger.error({ err: error, requestId }, 'media delivery failed');
      if (!res.headersSent) {
        sendError(res, 503, 'UNAVAILABLE', 'Media is unavailable for a moment; try again');
      } else res.destroy();
    }
  };

  async function serve(req: IncomingMessage, res: ServerResponse, requestId: string) {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendError(res, 405, 'METHOD_NOT_ALLOWED', 'Media is read with GET or HEAD', {
        allow: 'GET, HEAD',
      });
      return;
    }
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const blob = await servableOf(deps.assets, path);
    if (!blob) {
      sendError(res, 404, 'NOT_FOUND', 'No media at this address');
      return;
    }
    const etag = `"${blob.sha256}"`;
    const common = {
      etag,
      'cache-control': IMMUTABLE,
      'accept-ranges': 'bytes',
      'x-content-type-options': 'nosniff',
    };
    if (matchesAny(req.headers['if-none-match'], etag)) {
      res.writeHead(304, common);
      res.end();
      return;
    }
    // A range applies only to the version the client already holds part of.
    const ifRange = req.headers['if-range'];
    const range =
      ifRange === undefined || ifRange === etag
        ? parseRange(req.headers.range, blob.size)
        : undefined;
    if (range === 'unsatisfiable') {
      sendError(res, 416, 'RANGE_NOT_SATISFIABLE', `The media has ${blob.size} bytes`, {
        'content-range': `bytes */${blob.size}`,
      });
      return;
    }
    const headers = {
      ...common,
      'content-type': blob.contentType,
      'content-length': String(range ? range.end - range.start + 1 : blob.size),
      ...(range ? { 'content-range': `bytes ${range.start}-${range.end}/${blob.size}` } : {}),
    };
    if (req.method === 'HEAD') {
      res.writeHead(range ? 206 : 200, headers);
      res.end();
      return;
    }
    let stored;
    try {
      stored = await deps.blobs.get(blob.name, range);
    } catch (error) {
      if (!(error instanceof BlobNotFound)) throw error;
      deps.logger.error({ requestId, path }, 'an asset is recorded but its blob is missing');
      sendError(res, 404, 'NOT_FOUND', 'No media at this address');
      return;
    }
    if (stored.size !== blob.size) {
      // Sending it would promise bytes that never come, and the client would wait for them.
      stored.body.destroy();
      deps.logger.error(
        { requestId, path, recorded: blob.size, stored: stored.size },
        'an asset is recorded but its blob has another size',
      );
      sendError(res, 404, 'NOT_FOUND', 'No media at this address');
      return;
    }
    res.writeHead(range ? 206 : 200, headers);
    try {
      await pipeline(stored.body, exactly(Number(headers['content-length'])), res);
    } catch (error) {
      // Headers are gone: all that can be done is to cut the response short, which the client sees.
      if (!req.socket.destroyed)
        deps.logger.warn({ err: error, requestId, path }, 'media stream failed');
    }
  }
}
