import type { Db } from 'mongodb';
import { shardOfUser } from '../../../platform/ids.js';

/**
 * Username to user id, on the logical shard of the (lower-cased) name: who `@bob` is, in a
 * one-shard read, however the users are sharded. A name is claimed once and never moves.
 */
interface UsernameDoc {
  _id: string;
  shard: number;
  userId: string;
}

export function usernamesStore(db: Db) {
  const usernames = db.collection<UsernameDoc>('usernames');
  const keyOf = (name: string) => ({ shard: shardOfUser(name), _id: name });
  return {
    async ensureIndexes() {
      await usernames.createIndex({ shard: 1, _id: 1 });
    },

    async claim(username: string, userId: string): Promise<void> {
      await usernames.updateOne(
        keyOf(username.toLowerCase()),
        { $setOnInsert: { userId } },
        { upsert: true },
      );
    },

    async ids(names: readonly string[]): Promise<Map<string, string>> {
      const lower = [...new Set(names.map((name) => name.toLowerCase()))];
      const found = await usernames
        .find(
          { shard: { $in: [...new Set(lower.map(shardOfUser))] }, _id: { $in: lower } },
          { batchSize: lower.length + 1 },
        )
        .toArray();
      return new Map(found.map((doc) => [doc._id, doc.userId]));
    },
  };
}
