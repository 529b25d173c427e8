/**
 * Real media made at test time: JPEG and PNG with sharp, MP4 with ffmpeg (Debian's `ffmpeg`,
 * which scripts/setup.sh installs). No binary fixtures in the repository.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';

/** Random pixels, so the encoded file is of a realistic size and never compresses to nothing. */
export function makeImage(width: number, height: number, format: 'jpeg' | 'png'): Promise<Buffer> {
  const pixels = Buffer.alloc(width * height * 3);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 7919 + (i >> 9) * 104729) & 0xff;
  const image = sharp(pixels, { raw: { width, height, channels: 3 } });
  return (format === 'jpeg' ? image.jpeg({ quality: 90 }) : image.png()).toBuffer();
}

/** An MP4 of ffmpeg's test pattern. */
export async function makeMp4(seconds: number, width: number, height: number): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'media-test-'));
  try {
    const file = join(dir, 'clip.mp4');
    await promisify(execFile)('ffmpeg', [
      '-v',
      'error',
      '-f',
      'lavfi',
      '-i',
      `testsrc=duration=${seconds}:size=${width}x${height}:rate=10`,
      '-pix_fmt',
      'yuv420p',
      '-y',
      file,
    ]);
    return await readFile(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
