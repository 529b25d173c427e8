import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { createLogger } from '../../platform/logger.js';
import { extractMetadata, type MediaTools } from '../../subgraphs/feed/media/metadata.js';
import { makeImage, makeMp4 } from '../helpers/media.js';

const TOOLS: MediaTools = { ffprobe: 'ffprobe', ffmpeg: 'ffmpeg' };
const MISSING: MediaTools = { ffprobe: '/nonexistent/ffprobe', ffmpeg: '/nonexistent/ffmpeg' };

let dir: string;
const lines: { level: number; msg: string }[] = [];
const logger = createLogger('test', 'warn', {
  write: (line: string) => void lines.push(JSON.parse(line)),
});

async function file(name: string, bytes: Buffer): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return path;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'metadata-test-'));
});
after(() => rm(dir, { recursive: true, force: true }));

test('a photo: dimensions with sharp, and a JPEG thumbnail at most 320 px', async () => {
  const found = await extractMetadata(
    await file('a.png', await makeImage(1200, 500, 'png')),
    'PHOTO',
    TOOLS,
    logger,
  );
  assert.equal(found.width, 1200);
  assert.equal(found.height, 500);
  assert.equal(found.durationMs, null);
  const thumbnail = await sharp(found.thumbnail as Buffer).metadata();
  assert.equal(thumbnail.format, 'jpeg');
  assert.deepEqual([thumbnail.width, thumbnail.height], [320, 133]);
});

test('a video: dimensions and duration with ffprobe, a thumbnail from its first frame', async () => {
  const found = await extractMetadata(
    await file('b.mp4', await makeMp4(2, 160, 120)),
    'VIDEO',
    TOOLS,
    logger,
  );
  assert.equal(found.width, 160);
  assert.equal(found.height, 120);
  assert.ok(
    found.durationMs !== null && Math.abs(found.durationMs - 2_000) <= 200,
    `${found.durationMs}`,
  );
  assert.equal((await sharp(found.thumbnail as Buffer).metadata()).width, 160);
});

test('without ffprobe, or with a file nothing can read, metadata stays null and is logged', async () => {
  lines.length = 0;
  const video = await file('c.mp4', await makeMp4(1, 160, 120));
  assert.deepEqual(await extractMetadata(video, 'VIDEO', MISSING, logger), {
    width: null,
    height: null,
    durationMs: null,
    thumbnail: null,
  });
  assert.ok(
    lines.some((line) => /install ffmpeg/.test(line.msg)),
    JSON.stringify(lines),
  );

  // JPEG magic bytes, then nothing a decoder can use.
  const broken = await file(
    'd.jpg',
    Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), Buffer.alloc(500, 3)]),
  );
  assert.equal((await extractMetadata(broken, 'PHOTO', TOOLS, logger)).width, null);
  // An MP4's first box, then noise.
  const noise = Buffer.alloc(2_000, 7);
  noise.write('\0\0\0\x18ftypisom\0\0\x02\0isomiso2', 0, 'latin1');
  const garbled = await extractMetadata(await file('e.mp4', noise), 'VIDEO', TOOLS, logger);
  assert.deepEqual([garbled.width, garbled.durationMs, garbled.thumbnail], [null, null, null]);
});
