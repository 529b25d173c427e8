import { MongoClient } from 'mongodb';
import { databaseName } from '../../platform/mongo.js';
import { readEnv, str, url } from '../../platform/env.js';
import { SHARD_KEYS } from './shard-keys.js';

/**
 * Shards every collection on a real cluster. Run once per environment, against a mongos, after
 * the services have created their indexes (or before: shardCollection creates the key's index).
 */
const env = readEnv({
  MONGODB_URI: url('mongodb://127.0.0.1:27017/', ['mongodb:', 'mongodb+srv:']),
  MONGODB_DB_PREFIX: str('ig'),
});
const client = new MongoClient(env.MONGODB_URI, { serverSelectionTimeoutMS: 5_000 });
try {
  await client.connect();
  const admin = client.db('admin');
  const hello = await admin.command({ hello: 1 });
  if (hello.msg !== 'isdbgrid') {
    console.error(
      `db:shard needs a mongos (a sharded cluster's router); ${env.MONGODB_URI} is not one ` +
        `(hello.msg = ${JSON.stringify(hello.msg)}). Nothing was changed.`,
    );
    process.exitCode = 2;
  } else {
    for (const [subgraph, collections] of Object.entries(SHARD_KEYS)) {
      const db = databaseName(env.MONGODB_DB_PREFIX, subgraph);
      await admin.command({ enableSharding: db });
      for (const [name, spec] of Object.entries(collections)) {
        await admin.command({
          shardCollection: `${db}.${name}`,
          key: spec.key,
          unique: spec.unique,
        });
        console.log(`sharded ${db}.${name} on ${JSON.stringify(spec.key)}`);
      }
    }
  }
} catch (error) {
  console.error(`db:shard failed: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  await client.close();
}
