import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startStack, type TestStack } from '../helpers/stack.js';
import { uploadTo } from '../helpers/media.js';
import { uid } from './support.js';

/** The sniff buffer, a GridFS chunk and an S3 multipart part. */
const SNIFF_BYTES = 32;
const GRIDFS_CHUNK = 255 * 1024;
const S3_PART = 5 * 1024 * 1024;
/** A missing or damaged blob must answer well before this. */
const QUICK_MS = 5_000;

/** `size` bytes that sniff as a JPEG: its magic number, then noise. */
function jpegOf(size: number): Buffer {
  const bytes = randomBytes(size);
  Buffer.from([0xff, 0xd8, 0xff]).copy(bytes, 0, 0, Math.min(3, size));
  return bytes;
}

let stack: TestStack;
before(async () => {
  stack = await startStack();
});
after(() => stack.stop());

const feedDb = () => stack.mongo.db(`${stack.dbPrefix}_feed`);

async function media(id: string, headers: Record<string, string> = {}) {
  const response = await fetch(new URL(`/media/${id}`, stack.gatewayUrl), {
    headers,
    signal: AbortSignal.timeout(QUICK_MS),
  });
  return { status: response.status, body: Buffer.from(await response.arrayBuffer()) };
}

describe('uploads of every size', () => {
  test('sizes around the sniff buffer and the chunk and part boundaries come back byte for byte', async () => {
    const sizes = [3, 4, SNIFF_BYTES - 1, SNIFF_BYTES, SNIFF_BYTES + 1, 2 * SNIFF_BYTES];
    sizes.push(GRIDFS_CHUNK - 1, GRIDFS_CHUNK, GRIDFS_CHUNK + 1, S3_PART + 1);
    const as = uid('uploader');
    for (const size of sizes) {
      const bytes = jpegOf(size);
      // Small files both ways: as a form and as the raw body.
      const ways = size <= 2 * SNIFF_BYTES ? [undefined, 'application/octet-stream'] : [undefined];
      for (const raw of ways) {
        const uploaded = await uploadTo(stack, bytes, { as, ...(raw ? { raw } : {}) });
        assert.equal(uploaded.status, 201, `${size} bytes: ${JSON.stringify(uploaded.body)}`);
        const id = uploaded.body.id as string;
        const whole = await media(id);
        assert.equal(whole.status, 200, `${size} bytes`);
        assert.ok(whole.body.equals(bytes), `${size} bytes came back as ${whole.body.length}`);
        const tail = await media(id, { range: `bytes=${size - 2}-` });
        assert.equal(tail.status, 206);
        assert.ok(tail.body.equals(bytes.subarray(size - 2)), `the last bytes of ${size}`);
      }
    }
  });

  test('files too short to tell their type are refused with 415, never stored empty', async () => {
    for (const bytes of [Buffer.from([0xff]), Buffer.from([0xff, 0xd8])]) {
      const uploaded = await uploadTo(stack, bytes, { as: uid('uploader') });
      assert.equal(uploaded.status, 415);
      assert.equal(uploaded.body.error?.code, 'UNSUPPORTED_MEDIA_TYPE');
    }
  });

  test('a missing or damaged blob is a quick JSON 404, never a hang', async () => {
    const as = uid('uploader');
    const missing = (await uploadTo(stack, jpegOf(1_000), { as })).body.id as string;
    const short = (await uploadTo(stack, jpegOf(3 * GRIDFS_CHUNK), { as })).body.id as string;
    const files = feedDb().collection<{ _id: string; length: number }>('media.files');
    const chunks = feedDb().collection('media.chunks');
    await files.deleteOne({ _id: missing });
    await chunks.deleteMany({ files_id: missing });
    // Damaged: its record says fewer bytes than the asset's.
    await files.updateOne({ _id: short }, { $set: { length: GRIDFS_CHUNK } });

    for (const id of [missing, short]) {
      const started = Date.now();
      const response = await fetch(new URL(`/media/${id}`, stack.gatewayUrl), {
        signal: AbortSignal.timeout(QUICK_MS),
      });
      assert.equal(response.status, 404);
      assert.equal(
        ((await response.json()) as { error: { code: string } }).error.code,
        'NOT_FOUND',
      );
      assert.ok(Date.now() - started < QUICK_MS);
    }

    // Chunks gone under a record that looks whole: the answer is cut short, not left hanging.
    const cut = (await uploadTo(stack, jpegOf(3 * GRIDFS_CHUNK), { as })).body.id as string;
    await chunks.deleteMany({ files_id: cut, n: { $gte: 1 } });
    const outcome = await media(cut).then(
      (answer) => `status ${answer.status}, ${answer.body.length} bytes`,
      (error: Error) => error.name,
    );
    assert.notEqual(outcome, 'TimeoutError');
    assert.notEqual(outcome, `status 200, ${3 * GRIDFS_CHUNK} bytes`);
  });
});
