import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { createTokenVerifier, readAuthConfig } from '../../platform/auth.js';
import { shardOfUser } from '../../platform/ids.js';
import { createLogger } from '../../platform/logger.js';
import { assetsService } from '../../subgraphs/feed/media/assets-service.js';
import { BlobNotFound } from '../../subgraphs/feed/media/blob-store.js';
import { gridfsBlobStore } from '../../subgraphs/feed/media/gridfs-store.js';
import { assetsStore, type AssetDoc } from '../../subgraphs/feed/store/assets.js';
import { startStack, ok, type TestStack } from '../helpers/stack.js';
import {
  makeImage,
  makeMp4,
  mediaWhenReady,
  uploadCutOff,
  uploadTo,
  type UploadOptions,
} from '../helpers/media.js';
import { assertError, createPost, inBatches, sleep, uid, unboundedTokens } from './support.js';

const PHOTO_LIMIT = 2_000_000;

let stack: TestStack;
let origin: string;
let jpeg: Buffer;
let mp4: Buffer;

before(async () => {
  stack = await startStack({ media: { maxBytes: { PHOTO: PHOTO_LIMIT, VIDEO: 20_000_000 } } });
  origin = new URL(stack.gatewayUrl).origin;
  [jpeg, mp4] = await Promise.all([makeImage(640, 480, 'jpeg'), makeMp4(1, 320, 240)]);
});
after(() => stack.stop());

const upload = (bytes: Buffer, options: UploadOptions = {}) => uploadTo(stack, bytes, options);

const feedDb = () => stack.mongo.db(`${stack.dbPrefix}_feed`);

/** What the feed keeps of a user's uploads: asset records and GridFS files. */
async function storedBy(userId: string) {
  const assets = await feedDb()
    .collection('assets')
    .find({ shard: shardOfUser(userId), ownerId: userId })
    .toArray();
  const ids = assets.map((asset) => asset._id);
  const files = await feedDb()
    .collection('media.files')
    .countDocuments({ _id: { $in: ids } });
  const chunks = await feedDb()
    .collection('media.chunks')
    .countDocuments({ files_id: { $in: ids } });
  return { assets: assets.length, files, chunks };
}

describe('upload, post and read back', () => {
  test('a JPEG and an MP4: the post shows them at once, and their metadata once extracted', async () => {
    const alice = uid('alice');
    const photo = await upload(jpeg, { as: alice });
    assert.equal(photo.status, 201, JSON.stringify(photo.body));
    assert.equal(photo.body.kind, 'PHOTO');
    assert.equal(photo.body.url, `${origin}/media/${photo.body.id}`);
    // The declared type and name say JPEG; the bytes say MP4, and they win.
    const video = await upload(mp4, { as: alice, filename: 'clip.jpg' });
    assert.equal(video.status, 201, JSON.stringify(video.body));
    assert.equal(video.body.kind, 'VIDEO');

    const created = ok(
      await stack.gql(
        `mutation($input: CreatePostInput!) { createPost(input: $input) { id media { kind url } } }`,
        {
          input: {
            caption: 'uploads',
            media: [{ assetId: photo.body.id }, { assetId: video.body.id }],
          },
        },
        { as: alice },
      ),
    ).createPost;
    assert.deepEqual(created.media, [
      { kind: 'PHOTO', url: photo.body.url },
      { kind: 'VIDEO', url: video.body.url },
    ]);

    const [photoMedia, videoMedia] = await mediaWhenReady(stack, created.id);
    assert.equal(photoMedia?.width, 640);
    assert.equal(photoMedia?.height, 480);
    assert.equal(photoMedia?.durationMs, null);
    assert.equal(videoMedia?.width, 320);
    assert.equal(videoMedia?.height, 240);
    assert.ok(
      videoMedia?.durationMs >= 900 && videoMedia?.durationMs <= 1_200,
      `duration ${videoMedia?.durationMs}`,
    );
    for (const [item, id] of [
      [photoMedia, photo.body.id],
      [videoMedia, video.body.id],
    ] as const) {
      assert.equal(item?.thumbnailUrl, `${origin}/media/${id}/thumbnail`);
      const thumbnail = await fetch(item?.thumbnailUrl);
      assert.equal(thumbnail.status, 200);
      assert.equal(thumbnail.headers.get('content-type'), 'image/jpeg');
      const size = await sharp(Buffer.from(await thumbnail.arrayBuffer())).metadata();
      assert.ok(Math.max(size.width ?? 0, size.height ?? 0) <= 320, 'a thumbnail is small');
    }
  });

  test('a raw PNG body is accepted as well as a form', async () => {
    const png = await makeImage(50, 40, 'png');
    const uploaded = await upload(png, { as: uid(), raw: 'application/octet-stream' });
    assert.equal(uploaded.status, 201, JSON.stringify(uploaded.body));
    const served = await fetch(uploaded.body.url as string);
    assert.equal(served.headers.get('content-type'), 'image/png');
    assert.deepEqual(Buffer.from(await served.arrayBuffer()), png);
  });

  test("createPost refuses someone else's asset and an unknown one", async () => {
    const owner = uid('owner');
    const { body } = await upload(jpeg, { as: owner });
    const create = (assetId: string) =>
      stack.gql(
        `mutation($input: CreatePostInput!) { createPost(input: $input) { id } }`,
        {
          input: { media: [{ assetId }] },
        },
        { as: uid('thief') },
      );
    assertError(await create(body.id as string), 'BAD_USER_INPUT', "someone else's asset");
    assertError(await create('0000000000000000000000000'), 'BAD_USER_INPUT', 'an unknown asset');
  });
});

describe('delivery', () => {
  let url: string;
  before(async () => {
    url = (await upload(mp4, { as: uid() })).body.url as string;
  });

  test('the whole file, with a strong ETag and immutable caching', async () => {
    const response = await fetch(url);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'video/mp4');
    assert.equal(response.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.equal(response.headers.get('accept-ranges'), 'bytes');
    assert.match(response.headers.get('etag') ?? '', /^"[0-9a-f]{64}"$/);
    assert.deepEqual(Buffer.from(await response.arrayBuffer()), mp4);
  });

  test('If-None-Match answers 304 without a body', async () => {
    const etag = (await fetch(url, { method: 'HEAD' })).headers.get('etag') as string;
    const response = await fetch(url, { headers: { 'if-none-match': etag } });
    assert.equal(response.status, 304);
    assert.equal(response.headers.get('etag'), etag);
    assert.equal((await response.arrayBuffer()).byteLength, 0);
    const other = await fetch(url, { headers: { 'if-none-match': '"something-else"' } });
    assert.equal(other.status, 200);
    await other.arrayBuffer();
  });

  test('Range requests answer 206 with the exact bytes, 416 past the end', async () => {
    const middle = await fetch(url, { headers: { range: 'bytes=100-1099' } });
    assert.equal(middle.status, 206);
    assert.equal(middle.headers.get('content-range'), `bytes 100-1099/${mp4.length}`);
    assert.deepEqual(Buffer.from(await middle.arrayBuffer()), mp4.subarray(100, 1100));

    const tail = await fetch(url, { headers: { range: 'bytes=-10' } });
    assert.equal(tail.status, 206);
    assert.deepEqual(Buffer.from(await tail.arrayBuffer()), mp4.subarray(mp4.length - 10));

    const past = await fetch(url, { headers: { range: `bytes=${mp4.length}-` } });
    assert.equal(past.status, 416);
    assert.equal(past.headers.get('content-range'), `bytes */${mp4.length}`);
    assert.equal(((await past.json()) as any).error.code, 'RANGE_NOT_SATISFIABLE');
  });

  test('an unknown id is a 404 with a JSON error', async () => {
    for (const path of [
      '/media/0000000000000000000000000',
      '/media/nope',
      `${new URL(url).pathname}/other`,
    ]) {
      const response = await fetch(`${origin}${path}`);
      assert.equal(response.status, 404, path);
      assert.equal(((await response.json()) as any).error.code, 'NOT_FOUND');
    }
  });
});

describe('refusals leave nothing stored', () => {
  test('a text file named .jpg is 415', async () => {
    const user = uid();
    const refused = await upload(Buffer.from('just some text, not a picture\n'.repeat(20)), {
      as: user,
      filename: 'photo.jpg',
    });
    assert.equal(refused.status, 415);
    assert.equal(refused.body.error?.code, 'UNSUPPORTED_MEDIA_TYPE');
    assert.deepEqual(await storedBy(user), { assets: 0, files: 0, chunks: 0 });
  });

  test('a photo over the limit is 413', async () => {
    const user = uid();
    // A real JPEG header, then more bytes than a photo may have.
    const big = Buffer.concat([jpeg, Buffer.alloc(PHOTO_LIMIT, 1)]);
    const refused = await upload(big, { as: user });
    assert.equal(refused.status, 413);
    assert.equal(refused.body.error?.code, 'PAYLOAD_TOO_LARGE');
    assert.deepEqual(await storedBy(user), { assets: 0, files: 0, chunks: 0 });
  });

  test('an upload without a token, or with a bad or unbounded one, is 401', async () => {
    const anonymous = await upload(jpeg);
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.body.error?.code, 'UNAUTHENTICATED');
    const forged = await upload(jpeg, { token: 'not-a-token' });
    assert.equal(forged.status, 401);
    for (const token of await unboundedTokens(uid())) {
      const unbounded = await upload(jpeg, { token });
      assert.equal(unbounded.status, 401);
      assert.equal(unbounded.body.error?.code, 'UNAUTHENTICATED');
    }
  });

  test('a form without a file field is 400', async () => {
    const form = new FormData();
    form.append('caption', 'no file here');
    const response = await fetch(`${origin}/assets`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await stack.token(uid())}` },
      body: form,
    });
    assert.equal(response.status, 400);
    assert.equal(((await response.json()) as any).error.code, 'BAD_USER_INPUT');
  });

  test('an upload cut off half-way keeps nothing', async () => {
    const user = uid('quitter');
    await uploadCutOff(stack, user, jpeg, async () => {
      // Wait until the feed is storing it, so the abort interrupts a real upload.
      for (let i = 0; (await storedBy(user)).chunks === 0; i++) {
        assert.ok(i < 100, 'the upload never started storing');
        await sleep(50);
      }
    });
    for (let i = 0; ; i++) {
      const left = await storedBy(user);
      if (left.assets === 0 && left.chunks === 0 && left.files === 0) break;
      assert.ok(i < 100, `still stored after the abort: ${JSON.stringify(left)}`);
      await sleep(50);
    }
  });
});

describe('cost and repair', () => {
  test('a feed of uploaded media costs the same database commands for 5 posts and for 50', async () => {
    const author = uid('prolific');
    const photo = (await upload(jpeg, { as: author })).body.id as string;
    const video = (await upload(mp4, { as: author })).body.id as string;
    await inBatches(
      Array.from({ length: 50 }, (_, i) => i),
      5,
      (i) => createPost(stack, author, { media: [{ assetId: i % 2 ? photo : video }] }),
    );
    const FEED = `query($first: Int) { feed(first: $first) { edges { node { id
      media { kind url width height durationMs thumbnailUrl } } } } }`;
    ok(await stack.gql(FEED, { first: 1 }, { as: author })); // builds the timeline
    // Cold reads: posts come from the database, not the cache, both times.
    await stack.flushCache();
    const small = await stack.recordQuery(() => stack.gql(FEED, { first: 5 }, { as: author }));
    await stack.flushCache();
    const large = await stack.recordQuery(() => stack.gql(FEED, { first: 50 }, { as: author }));
    assert.equal(ok(large.result).feed.edges.length, 50);
    assert.ok(small.commands.some((command) => command.command.find === 'assets'));
    assert.equal(large.commands.length, small.commands.length);
  });

  test('the repair pass removes an upload a crash interrupted and announces one never processed', async () => {
    const owner = uid('crashed');
    const db = feedDb();
    const assets = assetsStore(db);
    const blobs = gridfsBlobStore(db);
    const anHourAgo = new Date(Date.now() - 3_600_000);
    // Bytes stored, the process gone before it finished the record.
    const interrupted = await assets.begin(owner, 'VIDEO', 'video/mp4');
    await blobs.put(interrupted._id, Readable.from([mp4.subarray(0, 4_000)]), 'video/mp4');
    await db
      .collection<AssetDoc>('assets')
      .updateOne(
        { shard: interrupted.shard, _id: interrupted._id },
        { $set: { createdAt: anHourAgo } },
      );
    // Stored, the process gone before it announced the upload.
    const unannounced = await assets.begin(owner, 'PHOTO', 'image/jpeg');
    await blobs.put(unannounced._id, Readable.from([jpeg]), 'image/jpeg');
    await assets.markStored(unannounced._id, jpeg.length, 'f'.repeat(64));
    await db
      .collection<AssetDoc>('assets')
      .updateOne(
        { shard: unannounced.shard, _id: unannounced._id },
        { $set: { storedAt: anHourAgo } },
      );

    const events = await stack.connectEvents('repair-test');
    try {
      const service = assetsService({
        assets,
        auth: createTokenVerifier(readAuthConfig({})),
        events,
        logger: createLogger('test', 'silent'),
        media: {
          blobs,
          baseUrl: origin,
          maxBytes: { PHOTO: PHOTO_LIMIT, VIDEO: PHOTO_LIMIT },
          tools: { ffprobe: 'ffprobe', ffmpeg: 'ffmpeg' },
        },
      });
      assert.equal(await service.repair(60_000), 2);
    } finally {
      await events.close();
    }
    const left = await storedBy(owner);
    assert.deepEqual([left.assets, left.files], [1, 1], 'only the stored upload is left');
    await assert.rejects(blobs.get(interrupted._id), BlobNotFound);
    // The running feed's consumer gets the announcement.
    for (let i = 0; ; i++) {
      const [asset] = await assets.byIds([unannounced._id]);
      if (asset?.processedAt) {
        assert.deepEqual([asset.width, asset.height], [640, 480]);
        break;
      }
      assert.ok(i < 100, 'the repaired announcement was never processed');
      await sleep(100);
    }
  });
});
