import type { Db } from 'mongodb';
import { ConfigError, int, oneOf, optionalStr, readEnv, str, url } from '../../../platform/env.js';
import type { BlobStore } from './blob-store.js';
import { gridfsBlobStore } from './gridfs-store.js';
import type { MediaTools } from './metadata.js';
import { s3BlobStore } from './s3-store.js';
import type { MediaKind } from './sniff.js';

export interface MediaOptions {
  blobs: BlobStore;
  /** Where clients fetch media: the CDN in production, the gateway locally. No trailing slash. */
  baseUrl: string;
  /** The largest upload accepted, per kind, in bytes. */
  maxBytes: Record<MediaKind, number>;
  tools: MediaTools;
}

/** The public URLs of an asset's bytes and thumbnail. */
export function mediaUrls(baseUrl: string) {
  return {
    original: (assetId: string) => `${baseUrl}/media/${assetId}`,
    thumbnail: (assetId: string) => `${baseUrl}/media/${assetId}/thumbnail`,
  };
}

export type MediaUrls = ReturnType<typeof mediaUrls>;

/** The feed's media settings from the environment; S3 credentials come from the AWS SDK's chain. */
export function readMediaEnv(db: Db): MediaOptions {
  const env = readEnv({
    MEDIA_STORE: oneOf(['gridfs', 's3'], 'gridfs'),
    MEDIA_BASE_URL: url('http://127.0.0.1:4000', ['http:', 'https:']),
    MEDIA_MAX_PHOTO_BYTES: int(20_000_000, 1_000, 1_000_000_000),
    MEDIA_MAX_VIDEO_BYTES: int(200_000_000, 1_000, 10_000_000_000),
    S3_BUCKET: optionalStr(),
    S3_ENDPOINT: optionalStr(),
    S3_REGION: str('us-east-1'),
    S3_FORCE_PATH_STYLE: oneOf(['true', 'false'], 'false'),
    S3_KEY_PREFIX: str('media/'),
    FFPROBE_PATH: str('ffprobe'),
    FFMPEG_PATH: str('ffmpeg'),
  });
  if (env.MEDIA_STORE === 's3' && !env.S3_BUCKET) {
    throw new ConfigError(['S3_BUCKET is required with MEDIA_STORE=s3']);
  }
  return {
    blobs:
      env.MEDIA_STORE === 's3'
        ? s3BlobStore({
            bucket: env.S3_BUCKET as string,
            keyPrefix: env.S3_KEY_PREFIX,
            endpoint: env.S3_ENDPOINT,
            region: env.S3_REGION,
            forcePathStyle: env.S3_FORCE_PATH_STYLE === 'true',
          })
        : gridfsBlobStore(db),
    baseUrl: env.MEDIA_BASE_URL.replace(/\/+$/, ''),
    maxBytes: { PHOTO: env.MEDIA_MAX_PHOTO_BYTES, VIDEO: env.MEDIA_MAX_VIDEO_BYTES },
    tools: { ffprobe: env.FFPROBE_PATH, ffmpeg: env.FFMPEG_PATH },
  };
}
