/**
 * One suite, both blob stores: GridFS on the Mongo-wire server (MONGODB_URI, or one started here)
 * and S3 against s3rver, a local S3-compatible server from npm, signed and spoken to by the same
 * AWS SDK client as in production.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { MongoClient } from 'mongodb';
import S3rver from 's3rver';
import { startMongo } from '../../scripts/stack/services.js';
import { BlobNotFound, type BlobStore } from '../../subgraphs/feed/media/blob-store.js';
import { gridfsBlobStore } from '../../subgraphs/feed/media/gridfs-store.js';
import { s3BlobStore, s3Client, type S3StoreOptions } from '../../subgraphs/feed/media/s3-store.js';

async function bytesOf(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A source that yields `bytes` in pieces, then fails, as a client that goes away does. */
function failingAfter(bytes: Buffer): Readable {
  return Readable.from(
    (async function* () {
      for (let at = 0; at < bytes.length; at += 256 * 1024) {
        yield bytes.subarray(at, at + 256 * 1024);
        await new Promise((resolve) => setImmediate(resolve));
      }
      throw new Error('client went away');
    })(),
  );
}

interface Backend {
  name: string;
  setUp(): Promise<{ store: BlobStore; tearDown(): Promise<void> }>;
}

const backends: Backend[] = [
  {
    name: 'gridfs',
    async setUp() {
      const own = process.env.MONGODB_URI
        ? undefined
        : await startMongo({ backend: 'memory', port: 0 });
      const client = await new MongoClient(
        process.env.MONGODB_URI ?? (own as { uri: string }).uri,
      ).connect();
      const db = client.db(`blobs_${randomBytes(4).toString('hex')}`);
      return {
        store: gridfsBlobStore(db),
        async tearDown() {
          await db.dropDatabase();
          await client.close();
          await own?.stop();
        },
      };
    },
  },
  {
    name: 's3 (s3rver)',
    async setUp() {
      const directory = await mkdtemp(join(tmpdir(), 's3rver-'));
      const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory });
      const { port } = await server.run();
      const options: S3StoreOptions = {
        bucket: 'media-test',
        keyPrefix: 'media/',
        endpoint: `http://127.0.0.1:${port}`,
        region: 'us-east-1',
        forcePathStyle: true,
        // s3rver's fixed development credentials.
        credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      };
      const client = s3Client(options);
      await client.send(new CreateBucketCommand({ Bucket: options.bucket }));
      return {
        store: s3BlobStore(options, client),
        async tearDown() {
          client.destroy();
          await server.close();
          await rm(directory, { recursive: true, force: true });
        },
      };
    },
  },
];

for (const backend of backends) {
  describe(`blob store: ${backend.name}`, { timeout: 120_000 }, () => {
    let store: BlobStore;
    let tearDown: () => Promise<void>;
    // Several GridFS chunks and, for S3, two multipart parts.
    const big = randomBytes(6 * 1024 * 1024 + 12_345);

    before(async () => {
      ({ store, tearDown } = await backend.setUp());
    });
    after(() => tearDown());

    test('answers a ping', async () => {
      assert.equal(await store.ping(), true);
    });

    test('stores a stream and reads it back whole', async () => {
      const name = `whole-${randomBytes(4).toString('hex')}`;
      await store.put(name, Readable.from([big]), 'video/mp4');
      assert.deepEqual(await bytesOf((await store.get(name)).body), big);
    });

    test('every size around the boundaries is stored and read back byte for byte', async () => {
      const gridfsChunk = 255 * 1024;
      const s3Part = 5 * 1024 * 1024;
      const sizes = [1, 2, 31, 32, 33, gridfsChunk - 1, gridfsChunk, gridfsChunk + 1];
      sizes.push(2 * gridfsChunk, s3Part - 1, s3Part, s3Part + 1);
      for (const size of sizes) {
        const name = `size-${size}-${randomBytes(4).toString('hex')}`;
        const bytes = big.subarray(0, size);
        await store.put(name, Readable.from([bytes]), 'video/mp4');
        const stored = await store.get(name);
        assert.equal(stored.size, size, `size ${size}`);
        assert.deepEqual(await bytesOf(stored.body), bytes, `bytes of ${size}`);
        const last = await store.get(name, { start: size - 1, end: size - 1 });
        assert.equal(last.size, size, `size of ${size} read by range`);
      }
    });

    test('reads byte ranges, first, middle and last bytes', async () => {
      const name = `range-${randomBytes(4).toString('hex')}`;
      await store.put(name, Readable.from([big]), 'video/mp4');
      for (const [start, end] of [
        // Not 0-0: s3rver serves the whole object for an end of 0 (S3 itself does not).
        [0, 9],
        [255 * 1024 - 3, 255 * 1024 + 3],
        [1_000_000, 2_000_000],
        [big.length - 10, big.length - 1],
      ] as const) {
        const got = await bytesOf((await store.get(name, { start, end })).body);
        assert.deepEqual(got, big.subarray(start, end + 1), `bytes ${start}-${end}`);
      }
    });

    test('an absent name is BlobNotFound; deleting it twice is fine', async () => {
      const name = `gone-${randomBytes(4).toString('hex')}`;
      await store.put(name, Readable.from([Buffer.from('abc')]), 'image/png');
      await store.delete(name);
      await store.delete(name);
      await assert.rejects(store.get(name), BlobNotFound);
    });

    test('a source that fails part-way fails the put and leaves nothing', async () => {
      const name = `failed-${randomBytes(4).toString('hex')}`;
      await assert.rejects(store.put(name, failingAfter(big), 'video/mp4'), /client went away/);
      await assert.rejects(store.get(name), BlobNotFound);
    });
  });
}
