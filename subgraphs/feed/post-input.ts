import { badInput } from '../../platform/errors.js';
import { isEntityId } from '../../platform/ids.js';
import { characterCount } from '../../platform/text.js';
import type { AssetDoc } from './store/assets.js';
import type { MediaDoc } from './store/posts.js';

export const MAX_CAPTION_LENGTH = 2_200;
export const MAX_MEDIA = 10;
const MAX_URL_LENGTH = 2_048;
const MAX_DIMENSION = 100_000;
const MAX_DURATION_MS = 24 * 3_600_000;

export interface MediaInput {
  assetId?: string | null;
  kind?: 'PHOTO' | 'VIDEO' | null;
  url?: string | null;
  width?: number | null;
  height?: number | null;
  durationMs?: number | null;
  thumbnailUrl?: string | null;
}

export function checkCaption(caption: string | null | undefined): string | null {
  if (caption === null || caption === undefined) return null;
  if (characterCount(caption) > MAX_CAPTION_LENGTH) {
    throw badInput(`caption must be at most ${MAX_CAPTION_LENGTH} characters`);
  }
  return caption;
}

function httpsUrl(value: string, field: string): string {
  let parsed: URL | undefined;
  try {
    parsed = new URL(value);
  } catch {
    parsed = undefined;
  }
  // The URL parser forgives spaces and control characters (it strips, drops or encodes them):
  // a value holding any, or any other separator or invisible character, would be stored other
  // than the URL it stands for.
  const spaced = /[\p{C}\p{Z}]/u.test(value);
  if (!parsed || spaced || parsed.protocol !== 'https:' || value.length > MAX_URL_LENGTH) {
    throw badInput(`${field} must be an https URL of at most ${MAX_URL_LENGTH} characters`);
  }
  return value;
}

function optionalInt(value: number | null | undefined, field: string, max: number): number | null {
  if (value === null || value === undefined) return null;
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw badInput(`${field} must be an integer from 1 to ${max}`);
  }
  return value;
}

function checkCount(items: readonly MediaInput[]) {
  if (items.length < 1 || items.length > MAX_MEDIA) {
    throw badInput(`media must have 1 to ${MAX_MEDIA} items`);
  }
}

/** The well-formed asset ids among the media, to load before `checkMedia`. */
export function requestedAssetIds(items: readonly MediaInput[]): string[] {
  checkCount(items);
  return items.flatMap((item) => (item.assetId && isEntityId(item.assetId) ? [item.assetId] : []));
}

const given = (value: unknown) => value !== null && value !== undefined;

/** `ownAssets`: the viewer's stored assets among those requested, by id. */
export function checkMedia(
  items: readonly MediaInput[],
  ownAssets: ReadonlyMap<string, AssetDoc>,
): MediaDoc[] {
  checkCount(items);
  return items.map((item, index) => {
    const at = `media[${index}]`;
    if (given(item.assetId)) {
      const { assetId: _assetId, ...rest } = item;
      if (Object.values(rest).some(given)) {
        throw badInput(`${at} needs either assetId alone, or kind and url`);
      }
      // The same answer for someone else's asset as for none: ids reveal nothing.
      const asset = ownAssets.get(item.assetId as string);
      if (!asset) throw badInput(`${at}.assetId does not name a photo or video you uploaded`);
      return { kind: asset.kind, assetId: asset._id };
    }
    if (!item.kind || !item.url) throw badInput(`${at} needs either assetId, or kind and url`);
    if (item.kind === 'PHOTO' && item.durationMs !== null && item.durationMs !== undefined) {
      throw badInput(`${at}.durationMs is for videos only`);
    }
    return {
      kind: item.kind,
      url: httpsUrl(item.url, `${at}.url`),
      width: optionalInt(item.width, `${at}.width`, MAX_DIMENSION),
      height: optionalInt(item.height, `${at}.height`, MAX_DIMENSION),
      durationMs: optionalInt(item.durationMs, `${at}.durationMs`, MAX_DURATION_MS),
      thumbnailUrl: item.thumbnailUrl ? httpsUrl(item.thumbnailUrl, `${at}.thumbnailUrl`) : null,
    };
  });
}
