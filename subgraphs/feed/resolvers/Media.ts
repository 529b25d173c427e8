import type { FeedContext } from '../context.js';
import type { MediaDoc } from '../store/posts.js';

type Metadata = 'width' | 'height' | 'durationMs';

/** A field of an upload comes from its asset, batched per request; null until extracted. */
function metadata(field: Metadata) {
  return async (media: MediaDoc, _args: unknown, context: FeedContext) => {
    if (!media.assetId) return media[field] ?? null;
    const asset = await context.loaders.assets.load(media.assetId);
    return asset?.[field] ?? null;
  };
}

export const Media = {
  url: (media: MediaDoc, _args: unknown, context: FeedContext) =>
    media.assetId ? context.mediaUrls.original(media.assetId) : media.url,
  width: metadata('width'),
  height: metadata('height'),
  durationMs: metadata('durationMs'),
  async thumbnailUrl(media: MediaDoc, _args: unknown, context: FeedContext) {
    if (!media.assetId) return media.thumbnailUrl ?? null;
    const asset = await context.loaders.assets.load(media.assetId);
    return asset?.thumbnail ? context.mediaUrls.thumbnail(media.assetId) : null;
  },
};
