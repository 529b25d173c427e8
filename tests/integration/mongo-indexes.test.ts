import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Collection, Document, Filter, Sort } from 'mongodb';
import { pagesByParent } from '../../platform/grouped-pages.js';
import { connectMongo } from '../../platform/mongo.js';
import { startMongo, type MongoServerOptions } from '../../scripts/stack/services.js';

/**
 * The embedded server's secondary indexes against its stock, unindexed self: the same randomised
 * writes (inserts, updates moving documents between index keys, deletes, upserts, unique
 * violations) go to both, and every answer, reads and write results alike, must be identical.
 */

interface Row {
  _id: string;
  shard: number;
  postId: string;
  userId: string;
  active: boolean;
  synced: boolean;
  updatedAt: number;
  deleted?: boolean;
  n: number;
}

/** mulberry32: the same sequence on every run, so a failure replays. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What a call answered, errors included (by code: messages may format numbers differently). */
async function outcome(run: () => Promise<unknown>): Promise<unknown> {
  try {
    return { ok: await run() };
  } catch (error) {
    const { code, writeErrors, message } = error as {
      code?: number;
      writeErrors?: { index: number; code: number }[];
      message: string;
    };
    // Without a server code the failure is not the server's answer: keep what it says.
    if (code === undefined && !writeErrors) return { failed: message };
    return { code, writeErrors: writeErrors?.map((e) => [e.index, e.code]) };
  }
}

async function compareBackends(
  backend: MongoServerOptions['backend'],
  operations: number,
  seed: number,
): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'mongo-indexes-'));
  const servers = await Promise.all(
    [true, false].map((secondaryIndexes) =>
      startMongo({
        backend,
        port: 0,
        secondaryIndexes,
        ...(backend === 'h2' ? { file: join(dir, `${secondaryIndexes}.mv`) } : {}),
      }),
    ),
  );
  const clients = await Promise.all(
    servers.map((server) => connectMongo(server.uri, { appName: 'index-test' })),
  );
  try {
    const collections = clients.map((client) => client.db('indexes').collection<Row>('rows'));
    for (const rows of collections) {
      await rows.createIndex({ shard: 1, postId: 1, userId: 1 }, { unique: true });
      await rows.createIndex({ shard: 1, postId: 1, _id: -1 });
      await rows.createIndex({ synced: 1, updatedAt: 1 });
      await rows.createIndex({ deleted: 1, updatedAt: 1 }, { sparse: true });
    }
    const next = random(seed);
    const pick = <T>(values: readonly T[]): T => values[Math.floor(next() * values.length)] as T;
    const shards = [0, 1, 2];
    const posts = Array.from({ length: 8 }, (_, i) => `p${i}`);
    const users = Array.from({ length: 12 }, (_, i) => `u${i}`);
    const absentPosts = Array.from({ length: 1_500 }, (_, i) => `p${i + 8}`);
    const ids = Array.from({ length: 400 }, (_, i) => `r${String(i).padStart(4, '0')}`);
    let clock = 0;
    const row = (): Row => ({
      _id: pick(ids),
      shard: pick(shards),
      postId: pick(posts),
      userId: pick(users),
      active: next() < 0.7,
      synced: next() < 0.5,
      updatedAt: ++clock,
      ...(next() < 0.2 ? { deleted: true } : {}),
      n: 0,
    });
    let duplicateKeys = 0;
    const both = async (label: string, run: (rows: Collection<Row>) => Promise<unknown>) => {
      const [indexed, stock] = [
        await outcome(() => run(collections[0] as Collection<Row>)),
        await outcome(() => run(collections[1] as Collection<Row>)),
      ];
      assert.deepEqual(indexed, stock, `${backend}: ${label}`);
      if (JSON.stringify(stock).includes('11000')) duplicateKeys++;
    };
    const find =
      (filter: Filter<Row>, sort?: Sort, skip = 0, limit = 0) =>
      (rows: Collection<Row>) =>
        rows.find(filter, { sort, skip, limit }).toArray();

    for (let i = 0; i < operations; i++) {
      // Every random pick happens out here: each callback runs once per server.
      const shard = pick(shards);
      const postId = pick(posts);
      const userId = pick(users);
      const id = pick(ids);
      const other = pick(ids);
      const op = next();
      if (op < 0.25) {
        const doc = row();
        await both(`insert ${JSON.stringify(doc)}`, (rows) => rows.insertOne({ ...doc }));
      } else if (op < 0.3) {
        const docs = [row(), row(), row()];
        await both(`insertMany ordered`, (rows) =>
          rows.insertMany(
            docs.map((d) => ({ ...d })),
            { ordered: true },
          ),
        );
      } else if (op < 0.42) {
        // Moves a document to other index keys, or onto a taken unique key.
        const set = { postId: pick(posts), userId: pick(users), updatedAt: ++clock };
        await both(`move ${id} ${JSON.stringify(set)}`, (rows) =>
          rows.updateOne({ _id: id }, { $set: set }),
        );
      } else if (op < 0.5) {
        const set = { synced: next() < 0.5, active: next() < 0.5, updatedAt: ++clock };
        await both(`updateOne by prefix`, (rows) =>
          rows.updateOne({ shard, postId, userId }, { $set: set }),
        );
      } else if (op < 0.55) {
        await both(`updateMany $inc`, (rows) =>
          rows.updateMany({ shard, postId }, { $inc: { n: 1 } }),
        );
      } else if (op < 0.63) {
        const doc = row();
        await both(`upsert`, (rows) =>
          rows.updateOne(
            { _id: doc._id, shard: doc.shard, postId: doc.postId, userId: doc.userId },
            { $set: { active: doc.active, updatedAt: doc.updatedAt } },
            { upsert: true },
          ),
        );
      } else if (op < 0.67) {
        const doc = row();
        await both(`findOneAndUpdate upsert`, (rows) =>
          rows.findOneAndUpdate(
            { _id: doc._id, shard: doc.shard, postId: doc.postId },
            { $set: { userId: doc.userId, updatedAt: doc.updatedAt }, $inc: { n: 1 } },
            { upsert: true, returnDocument: 'after' },
          ),
        );
      } else if (op < 0.71) {
        await both(`deleteOne`, (rows) => rows.deleteOne({ shard, postId, userId }));
      } else if (op < 0.73) {
        await both(`deleteMany`, (rows) => rows.deleteMany({ shard, postId, active: false }));
      } else if (op < 0.75) {
        await both(`deleteOne by id`, (rows) => rows.deleteOne({ _id: id }));
      }

      // Reads after every write, each shape the indexes plan differently.
      await both(`count ${shard} ${postId}`, (rows) =>
        rows.countDocuments({ shard, postId, active: true }),
      );
      // Counts an index answers alone: every condition pins one of its keys.
      await both(`covered count`, (rows) => rows.countDocuments({ shard, postId }));
      await both(`covered count, unique index`, (rows) =>
        rows.countDocuments({ shard, postId, userId }),
      );
      await both(`covered count, $in`, (rows) =>
        rows.countDocuments({
          shard: { $in: [shard, 2, 7] },
          postId: { $in: [postId, 'p1', 'p9'] },
        }),
      );
      await both(`covered count, sparse index`, (rows) => rows.countDocuments({ deleted: true }));
      await both(`count with a limit`, (rows) =>
        rows.countDocuments({ shard, postId }, { limit: 2 }),
      );
      await both(`newest page`, find({ shard, postId }, { _id: -1 }, 0, 5));
      await both(`oldest page`, find({ shard, postId }, { _id: 1 }, 2, 4));
      await both(`unsorted prefix`, find({ shard, postId }));
      await both(`unique key`, find({ shard, postId, userId }));
      await both(`$in on the first key`, find({ shard: { $in: [shard, 2, shard] }, postId }));
      await both(`$in sorted`, find({ shard: { $in: [0, 2] } }, { shard: 1, postId: -1 }, 0, 7));
      await both(
        `$in on two keys`,
        find({ shard: { $in: [shard, 2] }, postId: { $in: [postId, 'p1'] }, userId, active: true }),
      );
      await both(
        `$in served sort`,
        find({ shard, postId: { $in: ['p3', postId, 'p1'] } }, { postId: 1, _id: -1 }, 1, 6),
      );
      await both(
        `$in reversed sort`,
        find({ shard, postId: { $in: ['p3', postId] } }, { postId: -1, _id: 1 }, 0, 6),
      );
      await both(`empty $in`, find({ shard, postId: { $in: [] } }));
      // A feed's shape: $in on two keys, then the sort on the key after them, so the ranges merge.
      // The absent values make thousands of combinations, which a skip scan must step over.
      const feed = {
        shard: { $in: [shard, 2, 7] },
        postId: { $in: [...absentPosts, postId, 'p1'] },
      };
      await both(`merged newest`, find({ ...feed, active: true }, { _id: -1 }, 0, 5));
      await both(`merged oldest`, find(feed, { _id: 1 }, 2, 4));
      await both(`merged, one shard`, find({ ...feed, shard }, { _id: -1 }, 1, 3));
      await both(`many combinations, unsorted`, find(feed));
      // Ranges on the key after the pinned ones bound each range: a cursor is a seek.
      await both(`after a cursor`, find({ shard, postId, _id: { $lt: id } }, { _id: -1 }, 0, 3));
      await both(
        `oldest after a cursor`,
        find({ shard, postId, _id: { $gt: id } }, { _id: 1 }, 0, 3),
      );
      await both(`a window`, find({ shard, postId, _id: { $gte: id, $lte: other } }));
      // Inclusive ends at a value that is there, which an exclusive bound would drop.
      const there = await (collections[1] as Collection<Row>).findOne(
        { shard, postId },
        { sort: { _id: -1 }, skip: 1 },
      );
      if (there) {
        const { _id, synced, updatedAt } = there;
        await both(`up to a row`, find({ shard, postId, _id: { $lte: _id } }, { _id: -1 }, 0, 2));
        await both(`from a row`, find({ shard, postId, _id: { $gte: _id } }, { _id: 1 }, 0, 2));
        await both(
          `a walk from a row`,
          find({ synced, updatedAt: { $gte: updatedAt } }, { updatedAt: 1 }, 0, 2),
        );
        await both(
          `a walk to a row`,
          find({ synced, updatedAt: { $lte: updatedAt } }, { updatedAt: -1 }, 0, 2),
        );
      }
      await both(`an empty window`, find({ shard, postId, _id: { $gt: id, $lt: id } }));
      const numericBound: Document = { shard, postId, _id: { $lt: 5 } };
      await both(`a bound of another type`, find(numericBound));
      await both(`merged after a cursor`, find({ ...feed, _id: { $lt: id } }, { _id: -1 }, 0, 4));
      await both(
        `a bounded walk`,
        find(
          { synced: true, updatedAt: { $gt: clock - 60, $lte: clock - 5 } },
          { updatedAt: -1 },
          0,
          5,
        ),
      );
      // Values of other types than the stored ones: the index orders types as the server does.
      const mixed: Document = { shard: { $in: [0, '1', 2.0, true] }, postId: { $in: [postId, 4] } };
      await both(`mixed types in $in`, find(mixed, { _id: -1 }, 0, 6));
      await both(`walk in sort order`, find({ synced: false }, { updatedAt: 1 }, 0, 6));
      await both(`sparse index`, find({ deleted: true }, { updatedAt: -1 }, 0, 6));
      if (i % 25 === 0) {
        await both(`whole collection`, find({}));
        await both(
          `$eq and ranges`,
          find({ shard: { $eq: shard }, updatedAt: { $gt: clock / 2 } }),
        );
        await both(`distinct`, (rows) => rows.distinct('userId', { shard, postId }));
        await both(`pages by parent`, (rows) =>
          rows
            .aggregate<Document>([
              {
                $match: {
                  shard: { $in: [0, shard] },
                  postId: { $in: [postId, 'p2'] },
                  active: true,
                  _id: { $lt: id },
                },
              },
              { $sort: { postId: 1, _id: -1 } },
              { $group: { _id: '$postId', rows: { $push: '$$ROOT' } } },
              { $project: { rows: { $slice: ['$rows', 3] } } },
              { $sort: { _id: 1 } },
            ])
            .toArray(),
        );
        // Several parents' pages, a walk each joined by $unionWith, as `pagesByParent` reads
        // them; each must also be the page its parent gets alone (a plain find).
        const parents = [
          { id: postId, shard },
          ...[
            { id: 'p2', shard: 2 },
            { id: 'p5', shard: 0 },
          ].filter((parent) => parent.id !== postId),
        ];
        const pagesOf = (rows: Collection<Row>, of: typeof parents) =>
          pagesByParent(rows, {
            parentField: 'postId',
            parents: of,
            direction: -1,
            page: { limit: 2, after: id },
            where: { active: true },
          });
        await both(`pages by parent, a walk each`, async (rows) => [
          ...(await pagesOf(rows, parents)).entries(),
        ]);
        const walked = await pagesOf(collections[0] as Collection<Row>, parents);
        for (const parent of parents) {
          const alone = await pagesOf(collections[0] as Collection<Row>, [parent]);
          assert.deepEqual(walked.get(parent.id), alone.get(parent.id), `${backend}: ${parent.id}`);
        }
        await both(`aggregate`, (rows) =>
          rows
            .aggregate<Document>([
              { $match: { shard, active: true } },
              { $group: { _id: '$postId', likes: { $sum: 1 } } },
              { $sort: { _id: 1 } },
            ])
            .toArray(),
        );
      }
    }
    // An array under a key gives a document several entries: counts must not take them as many.
    const tagged = clients.map((client) =>
      client
        .db('indexes')
        .collection<{ _id: string; shard: number; tag: string | string[] }>('tagged'),
    );
    for (const collection of tagged) {
      await collection.createIndex({ shard: 1, tag: 1 });
      await collection.insertMany([
        { _id: 't1', shard: 1, tag: ['a', 'b', 'a'] },
        { _id: 't2', shard: 1, tag: 'a' },
        { _id: 't3', shard: 1, tag: ['b'] },
        { _id: 't4', shard: 2, tag: 'a' },
      ]);
    }
    for (const filter of [
      { shard: 1, tag: 'a' },
      { shard: 1, tag: { $in: ['a', 'b'] } },
      { shard: 1 },
    ]) {
      const [indexed, stock] = await Promise.all(tagged.map((c) => c.countDocuments(filter)));
      assert.equal(indexed, stock, `${backend}: tagged ${JSON.stringify(filter)}`);
    }
    // A range on the key after the pinned ones: $gt and its kin match within the bound's type, and
    // the index orders every type, so a count from the index must leave out the other types.
    const ranked = clients.map((client) =>
      client
        .db('indexes')
        .collection<{ _id: number; to: string; read: boolean; n?: unknown }>('ranked'),
    );
    const values: unknown[] = [-2, 0, 0.5, 1, 1, 2, 3.5, 1e300, Infinity, -Infinity];
    const others: unknown[] = [null, 'a', '1', true, false, new Date(5), { n: 1 }, [], 'z'];
    for (const collection of ranked) {
      await collection.createIndex({ to: 1, read: 1, n: 1 });
      await collection.insertMany(
        [...values, ...others, undefined].flatMap((n, i) =>
          ['x', 'y'].map((to, j) => ({
            _id: 2 * i + j,
            to,
            read: (i + j) % 3 === 0,
            ...(n === undefined ? {} : { n }),
          })),
        ),
      );
    }
    for (const n of [
      { $gt: 0 },
      { $gte: 0 },
      { $lt: 1 },
      { $lte: 1 },
      { $gt: 0, $lte: 2 },
      { $gte: -Infinity, $lt: Infinity },
      { $gt: 'a' },
      { $lt: new Date(10) },
      { $gt: 0, $ne: 1 },
    ]) {
      for (const filter of [
        { to: 'x', read: false, n },
        { to: { $in: ['x', 'y'] }, read: { $in: [true, false] }, n },
      ]) {
        const [indexed, stock] = await Promise.all(ranked.map((c) => c.countDocuments(filter)));
        assert.equal(indexed, stock, `${backend}: ranked ${JSON.stringify(filter)}`);
      }
    }
    const count = await (collections[0] as Collection<Row>).countDocuments();
    assert.ok(count > 30, `enough rows to mean something: ${count}`);
    assert.ok(duplicateKeys > 3, `unique violations exercised: ${duplicateKeys}`);
  } finally {
    await Promise.all(clients.map((client) => client.close()));
    await Promise.all(servers.map((server) => server.stop()));
    await rm(dir, { recursive: true, force: true });
  }
}

test('memory backend: indexed answers equal the unindexed ones', { timeout: 120_000 }, () =>
  compareBackends('memory', 300, 14),
);

test('h2 backend: indexed answers equal the unindexed ones', { timeout: 120_000 }, () =>
  compareBackends('h2', 120, 41),
);
