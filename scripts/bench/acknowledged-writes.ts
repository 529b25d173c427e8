import { MongoClient } from 'mongodb';

export interface WriteLoadResult {
  /** Ids whose insert the server acknowledged. */
  acknowledged: string[];
  /** Inserts that failed (the server went away while they were in flight). */
  failed: number;
  seconds: number;
}

/**
 * `writers` concurrent loops, each inserting one small document at a time (the shape of a like)
 * until `until` resolves, so a test or benchmark can kill the server mid-load and then check
 * that every acknowledged id is still there.
 */
export async function insertUntil(
  uri: string,
  options: {
    database: string;
    writers: number;
    until: Promise<unknown>;
    onAcknowledged?: (count: number) => void;
  },
): Promise<WriteLoadResult> {
  const client = new MongoClient(uri, {
    serverSelectionTimeoutMS: 2_000,
    socketTimeoutMS: 5_000,
    retryWrites: false,
    maxPoolSize: options.writers,
  });
  const likes = client.db(options.database).collection<{ _id: string; postId: string }>('likes');
  const acknowledged: string[] = [];
  let failed = 0;
  let stop = false;
  void options.until.finally(() => {
    stop = true;
  });
  const started = performance.now();
  const loop = async (writer: number) => {
    for (let n = 0; !stop; n++) {
      const id = `w${writer}-${n}`;
      try {
        await likes.insertOne({ _id: id, postId: `p${n % 50}` });
        acknowledged.push(id);
        options.onAcknowledged?.(acknowledged.length);
      } catch {
        failed++;
        if (stop) return;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: options.writers }, (_, writer) => loop(writer)));
  } finally {
    await client.close(true);
  }
  return { acknowledged, failed, seconds: (performance.now() - started) / 1000 };
}

/** The acknowledged ids the database no longer holds. */
export async function missingIds(
  uri: string,
  database: string,
  acknowledged: string[],
): Promise<string[]> {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 10_000 });
  try {
    const likes = client.db(database).collection<{ _id: string }>('likes');
    const found = new Set(
      (await likes.find({}, { projection: { _id: 1 } }).toArray()).map((doc) => doc._id),
    );
    return acknowledged.filter((id) => !found.has(id));
  } finally {
    await client.close();
  }
}
