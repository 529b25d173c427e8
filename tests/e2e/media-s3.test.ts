/**
 * The media flow through the gateway with blobs in S3-compatible storage: s3rver, a local
 * S3-compatible server from npm, spoken to by the AWS SDK exactly as AWS S3, MinIO or R2 would be.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CreateBucketCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { shardOfUser } from '../../platform/ids.js';
import { s3BlobStore, s3Client, type S3StoreOptions } from '../../subgraphs/feed/media/s3-store.js';
import { makeImage, makeMp4, mediaWhenReady, uploadCutOff, uploadTo } from '../helpers/media.js';
import { ok, startStack, type TestStack } from '../helpers/stack.js';
import { sleep, uid } from './support.js';

let stack: TestStack;
let server: S3rver;
let directory: string;
let client: S3Client;
const options: Omit<S3StoreOptions, 'endpoint'> = {
  bucket: 'media-e2e',
  keyPrefix: 'media/',
  region: 'us-east-1',
  forcePathStyle: true,
  // s3rver's fixed development credentials.
  credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
};

before(async () => {
  directory = await mkdtemp(join(tmpdir(), 's3rver-e2e-'));
  server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory });
  const { port } = await server.run();
  const s3 = { ...options, endpoint: `http://127.0.0.1:${port}` };
  client = s3Client(s3);
  await client.send(new CreateBucketCommand({ Bucket: options.bucket }));
  stack = await startStack({ media: { blobs: s3BlobStore(s3) } });
});

after(async () => {
  await stack.stop();
  client.destroy();
  await server.close();
  await rm(directory, { recursive: true, force: true });
});

async function keys(): Promise<string[]> {
  const listed = await client.send(new ListObjectsV2Command({ Bucket: options.bucket }));
  return (listed.Contents ?? []).map((object) => object.Key as string);
}

test('S3: upload, post, metadata, and delivery with ranges and ETags', async () => {
  const user = uid('s3');
  const [jpeg, mp4] = await Promise.all([makeImage(300, 200, 'jpeg'), makeMp4(1, 160, 120)]);
  const photo = await uploadTo(stack, jpeg, { as: user });
  const video = await uploadTo(stack, mp4, { as: user });
  assert.deepEqual([photo.status, video.status], [201, 201]);
  const post = ok(
    await stack.gql(
      `mutation($input: CreatePostInput!) { createPost(input: $input) { id } }`,
      { input: { media: [{ assetId: photo.body.id }, { assetId: video.body.id }] } },
      { as: user },
    ),
  ).createPost;
  const [photoMedia, videoMedia] = await mediaWhenReady(stack, post.id);
  assert.deepEqual([photoMedia?.width, photoMedia?.height], [300, 200]);
  assert.deepEqual([videoMedia?.width, videoMedia?.height], [160, 120]);
  assert.ok(Math.abs((videoMedia?.durationMs as number) - 1_000) <= 200);
  // The originals and both thumbnails are objects in the bucket.
  assert.deepEqual(
    (await keys()).sort(),
    [
      `media/${photo.body.id}`,
      `media/${photo.body.id}.thumbnail`,
      `media/${video.body.id}`,
      `media/${video.body.id}.thumbnail`,
    ].sort(),
  );

  const range = await fetch(video.body.url as string, { headers: { range: 'bytes=10-4009' } });
  assert.equal(range.status, 206);
  assert.deepEqual(Buffer.from(await range.arrayBuffer()), mp4.subarray(10, 4010));
  const etag = range.headers.get('etag') as string;
  const again = await fetch(video.body.url as string, { headers: { 'if-none-match': etag } });
  assert.equal(again.status, 304);
  const thumbnail = await fetch(videoMedia?.thumbnailUrl);
  assert.equal(thumbnail.headers.get('content-type'), 'image/jpeg');
  assert.ok((await thumbnail.arrayBuffer()).byteLength > 0);
});

test('S3: an upload cut off half-way keeps neither an object nor a record', async () => {
  const user = uid('s3-quitter');
  const before = await keys();
  const assets = stack.mongo.db(`${stack.dbPrefix}_feed`).collection('assets');
  const records = () => assets.countDocuments({ shard: shardOfUser(user), ownerId: user });
  await uploadCutOff(stack, user, await makeImage(64, 64, 'jpeg'), async () => {
    // lib-storage holds up to one 5 MB part in memory before sending it: the record shows the
    // upload has begun.
    for (let i = 0; (await records()) === 0; i++) {
      assert.ok(i < 100, 'the upload never began');
      await sleep(50);
    }
  });
  for (let i = 0; (await records()) > 0; i++) {
    assert.ok(i < 100, 'the record outlived the abort');
    await sleep(50);
  }
  assert.deepEqual(await keys(), before);
});
