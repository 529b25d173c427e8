export type MediaKind = 'PHOTO' | 'VIDEO';

export interface SniffedType {
  kind: MediaKind;
  contentType: string;
}

/** Enough leading bytes to tell every accepted format apart. */
export const SNIFF_BYTES = 32;

const HEIF_BRANDS = new Set(['heic', 'heix', 'heim', 'heis', 'hevc', 'hevx']);
const AVIF_BRANDS = new Set(['avif', 'avis']);
const QUICKTIME_BRANDS = new Set(['qt  ']);
const MP4_BRANDS = new Set([
  'isom',
  'iso2',
  'iso4',
  'iso5',
  'iso6',
  'mp41',
  'mp42',
  'mp71',
  'avc1',
  'dash',
  'M4V ',
  'M4VP',
  'f4v ',
]);

function ascii(bytes: Buffer, start: number, end: number): string {
  return bytes.subarray(start, end).toString('latin1');
}

/** The ISO base media file (MP4, QuickTime, HEIF, AVIF) brands: the major one, then the compatible ones. */
function isoBrands(head: Buffer): string[] {
  const boxSize = head.readUInt32BE(0);
  const brands = [ascii(head, 8, 12)];
  const end = Math.min(boxSize, head.length);
  for (let at = 16; at + 4 <= end; at += 4) brands.push(ascii(head, at, at + 4));
  return brands;
}

/**
 * The type of an upload from its first bytes (magic numbers), never from its name or declared
 * type: JPEG, PNG, WebP, HEIC and AVIF photos; MP4 and QuickTime videos. Null for anything else.
 */
export function sniffMediaType(head: Buffer): SniffedType | null {
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) {
    return { kind: 'PHOTO', contentType: 'image/jpeg' };
  }
  if (head.length >= 8 && head.subarray(0, 8).equals(Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'))) {
    return { kind: 'PHOTO', contentType: 'image/png' };
  }
  if (head.length >= 12 && ascii(head, 0, 4) === 'RIFF' && ascii(head, 8, 12) === 'WEBP') {
    return { kind: 'PHOTO', contentType: 'image/webp' };
  }
  if (head.length >= 12 && ascii(head, 4, 8) === 'ftyp') {
    const brands = isoBrands(head);
    const major = brands[0] as string;
    // The major brand decides; HEIF files often carry the generic `mif1` and name heic or avif
    // among their compatible brands.
    if (AVIF_BRANDS.has(major)) return { kind: 'PHOTO', contentType: 'image/avif' };
    if (HEIF_BRANDS.has(major)) return { kind: 'PHOTO', contentType: 'image/heic' };
    if (QUICKTIME_BRANDS.has(major)) return { kind: 'VIDEO', contentType: 'video/quicktime' };
    if (MP4_BRANDS.has(major)) return { kind: 'VIDEO', contentType: 'video/mp4' };
    if (major === 'mif1' || major === 'msf1') {
      if (brands.some((brand) => AVIF_BRANDS.has(brand))) {
        return { kind: 'PHOTO', contentType: 'image/avif' };
      }
      if (brands.some((brand) => HEIF_BRANDS.has(brand))) {
        return { kind: 'PHOTO', contentType: 'image/heic' };
      }
    }
    return null;
  }
  // QuickTime files older than the `ftyp` box start straight with one of these atoms.
  if (head.length >= 8 && ['moov', 'mdat', 'wide'].includes(ascii(head, 4, 8))) {
    return { kind: 'VIDEO', contentType: 'video/quicktime' };
  }
  return null;
}
