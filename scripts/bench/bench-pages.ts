import { MongoClient } from 'mongodb';
import { pagesByParent } from '../../platform/grouped-pages.js';
import { startMongo } from '../stack/services.js';
import { numberOption, readOptions } from '../command-line.js';

/**
 * `npm run bench:pages`: what a page of a viral post's likes costs on the embedded Mongo-wire
 * server, by the ways a page of several parents can be read: `pagesByParent` for the post alone
 * (a sorted, limited find) and among 19 others (one aggregate: a walk of each, joined by
 * `$unionWith`), the post alone half-way down its likes (after a cursor), and the `$group` of
 * every parent's rows it replaced (`$push` then `$slice`, as on a server without `$firstN`;
 * `$firstN` still reads every row). Also the post's like count, as the likes subgraph's recount
 * reads it, over its index and over one that lacks `active` (as it was, and as comments', follows'
 * and followers' counts were). The post has `--likes` like rows, the others none; each way is
 * timed over `--rounds` pages of 5.
 */
const values = readOptions(
  'npm run bench:pages --',
  "A page of a viral post's likes on the embedded store, by each way a page of several parents can be read.",
  {
    likes: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '20' },
  },
);
const likeRows = numberOption('likes', values.likes);
const rounds = numberOption('rounds', values.rounds);

const mongo = await startMongo({ backend: 'memory' });
const client = new MongoClient(mongo.uri);
try {
  await client.connect();
  const db = client.db('bench_pages');
  const likes = db.collection<{ _id: string; shard: number; postId: string; active: boolean }>(
    'likes',
  );
  // The likes subgraph's index for a post's live likes, newest first.
  await likes.createIndex({ shard: 1, postId: 1, active: 1, _id: -1 });
  // The same rows under the index the likes had before `active` was one of its keys, as
  // comments, follows and followers had too: the count then reads every row.
  const uncovered = db.collection<{ _id: string; shard: number; postId: string; active: boolean }>(
    'likes_uncovered',
  );
  await uncovered.createIndex({ shard: 1, postId: 1, _id: -1 });
  for (let i = 0; i < likeRows; i += 5_000) {
    const rows = Array.from({ length: Math.min(5_000, likeRows - i) }, (_, j) => ({
      _id: `like-${String(i + j).padStart(9, '0')}`,
      shard: 1,
      postId: 'viral',
      active: true,
    }));
    await likes.insertMany(rows);
    await uncovered.insertMany(rows);
  }

  const viral = { id: 'viral', shard: 1 };
  const others = Array.from({ length: 19 }, (_, i) => ({ id: `quiet-${i}`, shard: 1 }));
  const page = { limit: 5, after: undefined };
  // Half-way down the list: a page a reader reaches by scrolling, after a cursor.
  const deep = { limit: 5, after: `like-${String(Math.floor(likeRows / 2)).padStart(9, '0')}` };
  const where = { active: true };
  /** Each way's rows of the viral post. */
  const ways: { name: string; read: () => Promise<number> }[] = [
    ...[
      { name: 'the post alone (find)', parents: [viral], page },
      { name: 'the post among 20 (a walk each, $unionWith)', parents: [viral, ...others], page },
      {
        name: `the post alone, ${Math.ceil(likeRows / 2)} likes deep (find after a cursor)`,
        parents: [viral],
        page: deep,
      },
    ].map(({ name, parents, page }) => ({
      name,
      read: async () =>
        (
          await pagesByParent(likes, { parentField: 'postId', parents, direction: -1, page, where })
        ).get('viral')?.length ?? 0,
    })),
    {
      name: 'its like count (countDocuments, as a recount reads it)',
      read: () => likes.countDocuments({ shard: 1, postId: 'viral', ...where }),
    },
    {
      name: 'its like count over `{shard, postId, _id}`, without `active` (before)',
      read: () => uncovered.countDocuments({ shard: 1, postId: 'viral', ...where }),
    },
    {
      name: 'the post among 20 (one $group, before)',
      read: async () => {
        const groups = await likes
          .aggregate<{ _id: string; rows: unknown[] }>([
            {
              $match: {
                shard: 1,
                postId: { $in: ['viral', ...others.map((o) => o.id)] },
                ...where,
              },
            },
            { $sort: { postId: 1, _id: -1 } },
            { $group: { _id: '$postId', rows: { $push: '$$ROOT' } } },
            { $project: { rows: { $slice: ['$rows', page.limit + 1] } } },
          ])
          .toArray();
        return groups.find((group) => group._id === 'viral')?.rows.length ?? 0;
      },
    },
  ];
  console.log(`## npm run bench:pages\n\nA page of 5 likes of a post with ${likeRows} likes.\n`);
  console.log('| read | ms per read | rows returned, or the count |\n| --- | --- | --- |');
  for (const way of ways) {
    await way.read(); // unmeasured: the server compiles its path first
    const started = performance.now();
    let returned = 0;
    for (let round = 0; round < rounds; round++) returned = await way.read();
    const ms = (performance.now() - started) / rounds;
    console.log(`| ${way.name} | ${ms.toFixed(2)} | ${returned} |`);
  }
} finally {
  await client.close();
  await mongo.stop();
}
