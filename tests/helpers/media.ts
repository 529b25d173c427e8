/**
 * Real media made at test time: JPEG and PNG with sharp, MP4 with ffmpeg (Debian's `ffmpeg`,
 * which scripts/stack/setup.sh installs), so no binary fixtures in the repository; and uploads through
 * a test stack's gateway.
 */
import { execFile } from 'node:child_process';
import { request } from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { ok, type TestStack } from './stack.js';

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

export interface Uploaded {
  status: number;
  body: { id?: string; kind?: string; url?: string; error?: { code: string; message: string } };
}

export interface UploadOptions {
  as?: string;
  token?: string;
  filename?: string;
  /** Send the bytes as the raw body with this content type, rather than as a form. */
  raw?: string;
}

/** `POST /assets` on the stack's gateway. */
export async function uploadTo(
  stack: TestStack,
  bytes: Buffer,
  options: UploadOptions = {},
): Promise<Uploaded> {
  const headers: Record<string, string> = {};
  const token = options.token ?? (options.as ? await stack.token(options.as) : undefined);
  if (token) headers.authorization = `Bearer ${token}`;
  let body: FormData | Buffer;
  if (options.raw) {
    headers['content-type'] = options.raw;
    body = bytes;
  } else {
    body = new FormData();
    // The declared type is a lie on purpose where it matters: only the bytes decide.
    body.append('file', new Blob([bytes], { type: 'image/jpeg' }), options.filename ?? 'a.jpg');
  }
  const response = await fetch(new URL('/assets', stack.gatewayUrl), {
    method: 'POST',
    headers,
    body,
  });
  return { status: response.status, body: (await response.json()) as Uploaded['body'] };
}

/**
 * Starts a raw upload of 1.5 MB as `userId`, sends `head` and 600 kB, waits for `storing`, then
 * cuts the connection, as a client that goes away does.
 */
export async function uploadCutOff(
  stack: TestStack,
  userId: string,
  head: Buffer,
  storing: () => Promise<void>,
): Promise<void> {
  const req = request(new URL('/assets', stack.gatewayUrl), {
    method: 'POST',
    headers: {
      authorization: `Bearer ${await stack.token(userId)}`,
      'content-type': 'application/octet-stream',
      'content-length': String(1_500_000),
    },
  });
  req.on('error', () => undefined);
  req.write(head);
  req.write(Buffer.alloc(600_000, 2));
  await storing();
  req.destroy();
}

const POST_MEDIA = `query($id: ID!) { post(id: $id) {
  media { kind url width height durationMs thumbnailUrl } } }`;

/** A post's media once every item has its metadata and thumbnail. */
export async function mediaWhenReady(stack: TestStack, postId: string) {
  for (let i = 0; i < 150; i++) {
    const media = ok(await stack.gql(POST_MEDIA, { id: postId })).post.media as Record<
      string,
      any
    >[];
    if (media.every((item) => item.width !== null && item.thumbnailUrl !== null)) return media;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('metadata never arrived');
}
