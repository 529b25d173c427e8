import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { MongoClient, MongoServerError } from 'mongodb';
import { connect as connectNats } from 'nats';
import { ensureNats, ensureRedis, startMongo } from '../../scripts/stack/services.js';

const TIMEOUT = 120_000;

function isDuplicateKey(error: unknown): boolean {
  return error instanceof MongoServerError && error.code === 11000;
}

test(
  'startMongo (memory) serves what the platform needs from MongoDB',
  { timeout: TIMEOUT },
  async (t) => {
    const mongo = await startMongo({ backend: 'memory', port: 0 });
    assert.match(mongo.uri, /^mongodb:\/\/127\.0\.0\.1:\d+\/\?directConnection=true$/);
    const client = new MongoClient(mongo.uri, { serverSelectionTimeoutMS: 10_000 });
    t.after(async () => {
      await client.close();
      await mongo.stop();
    });
    await client.connect();
    const db = client.db('services_test');

    await t.test('hello reports a modern wire version', async () => {
      const hello = await client.db('admin').command({ hello: 1 });
      assert.equal(typeof hello['maxWireVersion'], 'number');
      assert.ok(hello['maxWireVersion'] >= 9, `maxWireVersion ${hello['maxWireVersion']}`);
      assert.equal(hello['isWritablePrimary'], true);
    });

    await t.test('insert and find', async () => {
      const users = db.collection<{ name: string; age: number }>('users');
      const inserted = await users.insertMany([
        { name: 'ada', age: 36 },
        { name: 'bob', age: 25 },
        { name: 'cyd', age: 41 },
      ]);
      assert.equal(inserted.insertedCount, 3);
      const found = await users
        .find({ age: { $gte: 30 } }, { projection: { _id: 0 } })
        .sort({ name: 1 })
        .toArray();
      assert.deepEqual(found, [
        { name: 'ada', age: 36 },
        { name: 'cyd', age: 41 },
      ]);
    });

    await t.test('a unique index rejects duplicates with code 11000', async () => {
      const accounts = db.collection<{ email: string }>('accounts');
      await accounts.createIndex({ email: 1 }, { unique: true });
      await accounts.insertOne({ email: 'a@example.test' });
      await assert.rejects(accounts.insertOne({ email: 'a@example.test' }), isDuplicateKey);
      assert.equal(await accounts.countDocuments(), 1);
    });

    await t.test('findOneAndUpdate upserts with $setOnInsert and $inc', async () => {
      const counters = db.collection<{ _id: string; seq: number; createdAt: string }>('counters');
      const bump = (createdAt: string) =>
        counters.findOneAndUpdate(
          { _id: 'posts' },
          { $setOnInsert: { createdAt }, $inc: { seq: 1 } },
          { upsert: true, returnDocument: 'after' },
        );
      assert.deepEqual(await bump('first'), { _id: 'posts', seq: 1, createdAt: 'first' });
      // $setOnInsert must not touch an existing document.
      assert.deepEqual(await bump('second'), { _id: 'posts', seq: 2, createdAt: 'first' });
    });

    await t.test('aggregate with $match, $sort, $group/$push and $project/$slice', async () => {
      const posts = db.collection<{ author: string; title: string; likes: number; at: number }>(
        'posts',
      );
      await posts.insertMany([
        { author: 'ada', title: 'a1', likes: 3, at: 1 },
        { author: 'ada', title: 'a2', likes: 0, at: 2 },
        { author: 'ada', title: 'a3', likes: 5, at: 3 },
        { author: 'ada', title: 'a4', likes: 1, at: 4 },
        { author: 'bob', title: 'b1', likes: 2, at: 5 },
      ]);
      const result = await posts
        .aggregate([
          { $match: { likes: { $gte: 1 } } },
          { $sort: { at: -1 } },
          { $group: { _id: '$author', titles: { $push: '$title' }, likes: { $sum: '$likes' } } },
          { $project: { _id: 1, likes: 1, latest: { $slice: ['$titles', 2] } } },
          { $sort: { _id: 1 } },
        ])
        .toArray();
      assert.deepEqual(result, [
        { _id: 'ada', likes: 9, latest: ['a4', 'a3'] },
        { _id: 'bob', likes: 2, latest: ['b1'] },
      ]);
    });
  },
);

test('startMongo (h2) keeps data across a stop and a start', { timeout: TIMEOUT }, async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'services-h2-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'store.mv');

  const first = await startMongo({ backend: 'h2', file, port: 0 });
  const writer = new MongoClient(first.uri, { serverSelectionTimeoutMS: 10_000 });
  try {
    const notes = writer.db('persist').collection<{ _id: string; text: string }>('notes');
    await notes.createIndex({ text: 1 }, { unique: true });
    await notes.insertMany([
      { _id: 'n1', text: 'kept' },
      { _id: 'n2', text: 'also kept' },
    ]);
  } finally {
    await writer.close();
    await first.stop();
  }

  const second = await startMongo({ backend: 'h2', file, port: 0 });
  const reader = new MongoClient(second.uri, { serverSelectionTimeoutMS: 10_000 });
  try {
    const notes = reader.db('persist').collection<{ _id: string; text: string }>('notes');
    assert.deepEqual(await notes.find().sort({ _id: 1 }).toArray(), [
      { _id: 'n1', text: 'kept' },
      { _id: 'n2', text: 'also kept' },
    ]);
    // The unique index survived too, not only the documents.
    await assert.rejects(notes.insertOne({ _id: 'n3', text: 'kept' }), isDuplicateKey);
  } finally {
    await reader.close();
    await second.stop();
  }
});

test('ensureRedis finds or starts a Redis that answers PING', { timeout: TIMEOUT }, async (t) => {
  // Under `npm test` the runner has already found or started one, and says where.
  const expected = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
  const redis = await ensureRedis(process.env['REDIS_URL']);
  t.after(() => redis.stop());
  assert.equal(redis.url, expected);
  const client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    assert.equal(await client.ping(), 'PONG');
  } finally {
    client.disconnect();
  }
});

test('ensureNats finds or starts a NATS server with JetStream', { timeout: TIMEOUT }, async (t) => {
  const expected = process.env['NATS_URL'] ?? 'nats://127.0.0.1:4222';
  const nats = await ensureNats(process.env['NATS_URL']);
  t.after(() => nats.stop());
  assert.equal(nats.url, expected);
  const connection = await connectNats({ servers: nats.url, timeout: 5_000 });
  try {
    const jetstream = await connection.jetstreamManager();
    const account = await jetstream.getAccountInfo();
    assert.equal(typeof account.streams, 'number');
  } finally {
    await connection.close();
  }
});
