import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { TokenVerifier } from '../../../platform/auth.js';
import { consumeAssetEvents, publishAssetEvent } from '../../../platform/durable-events.js';
import type { Route } from '../../../platform/http.js';
import type { Logger } from '../../../platform/logger.js';
import type { EventClients } from '../../../platform/pubsub.js';
import type { AssetDoc, AssetsStore } from '../store/assets.js';
import { mediaUrls, type MediaOptions } from './config.js';
import { deliveryRoute, thumbnailBlobName } from './delivery.js';
import { extractMetadata } from './metadata.js';
import { uploadRoute } from './upload.js';

/**
 * Node ends a request after `requestTimeout` (300 s by default), so an upload still marked as
 * uploading this long after it began belongs to a process that died: the repair pass removes it.
 */
const ABANDONED_AFTER_MS = 15 * 60_000;

export interface AssetsServiceDeps {
  assets: AssetsStore;
  auth: TokenVerifier;
  events: EventClients;
  logger: Logger;
  media: MediaOptions;
}

/**
 * The feed's media: upload and delivery routes, the durable consumer that extracts metadata and
 * thumbnails after an upload, and the repair of uploads and announcements a crash interrupted.
 */
export function assetsService(deps: AssetsServiceDeps) {
  const { assets, events, logger, media } = deps;
  const { blobs } = media;
  const urls = mediaUrls(media.baseUrl);

  async function announce(asset: AssetDoc) {
    await publishAssetEvent(events, {
      eventId: `asset.stored:${asset._id}`,
      type: 'asset.stored',
      assetId: asset._id,
      actorId: asset.ownerId,
      occurredAt: new Date().toISOString(),
    });
  }

  /** Idempotent: an asset already processed, or gone, is left alone. */
  async function extractAndRecord(assetId: string) {
    const [asset] = await assets.byIds([assetId]);
    if (!asset || asset.processedAt) return;
    // ffprobe and sharp read files: a video's index may sit at its end, out of a stream's reach.
    const dir = await mkdtemp(join(tmpdir(), 'asset-'));
    try {
      const file = join(dir, 'original');
      await pipeline((await blobs.get(assetId)).body, createWriteStream(file));
      const found = await extractMetadata(file, asset.kind, media.tools, logger);
      let thumbnail = null;
      if (found.thumbnail) {
        // A redelivery after a crash may find the last attempt's thumbnail: GridFS, unlike S3,
        // refuses to write over it.
        await blobs.delete(thumbnailBlobName(assetId));
        await blobs.put(thumbnailBlobName(assetId), Readable.from([found.thumbnail]), 'image/jpeg');
        thumbnail = {
          sha256: createHash('sha256').update(found.thumbnail).digest('hex'),
          size: found.thumbnail.length,
        };
      }
      await assets.setMetadata(assetId, {
        width: found.width,
        height: found.height,
        durationMs: found.durationMs,
        thumbnail,
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  const routes: Record<string, Route> = {
    '/assets': uploadRoute({
      assets,
      blobs,
      auth: deps.auth,
      urls,
      maxBytes: media.maxBytes,
      logger,
      async announce(asset) {
        try {
          await announce(asset);
        } catch (error) {
          logger.warn({ err: error, assetId: asset._id }, 'upload not announced yet; repair will');
        }
      },
    }),
    '/media/*': deliveryRoute({ assets, blobs, logger }),
  };

  return {
    routes,
    urls,
    /** Starts the durable consumer that extracts metadata; returns its stop function. */
    consume: () =>
      consumeAssetEvents(events, 'feed-asset-metadata', (event) => extractAndRecord(event.assetId)),

    /** Removes uploads a crash interrupted and announces again uploads never processed. */
    async repair(olderThanMs: number): Promise<number> {
      const abandoned = await assets.abandonedUploads(new Date(Date.now() - ABANDONED_AFTER_MS));
      for (const asset of abandoned) {
        await blobs.delete(asset._id);
        await assets.remove(asset._id);
      }
      const unprocessed = await assets.unprocessed(new Date(Date.now() - olderThanMs));
      for (const asset of unprocessed) await announce(asset);
      return abandoned.length + unprocessed.length;
    },
  };
}

export type AssetsService = ReturnType<typeof assetsService>;
