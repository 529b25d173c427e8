import { MongoClient, type CommandStartedEvent, type Db } from 'mongodb';

export interface MongoConnectOptions {
  appName: string;
  /** Emit `commandStarted` events; the tests count database round trips with them. */
  monitorCommands?: boolean;
  onCommand?: (event: CommandStartedEvent) => void;
}

/**
 * One client per process: the driver pools connections itself. Short server-selection and connect
 * timeouts turn a missing database into a fast, clear error rather than a request hanging for 30 s,
 * and `socketTimeoutMS` bounds how long an operation may wait on a silent server.
 */
export async function connectMongo(
  uri: string,
  options: MongoConnectOptions,
): Promise<MongoClient> {
  const client = new MongoClient(uri, {
    appName: options.appName,
    serverSelectionTimeoutMS: 5_000,
    connectTimeoutMS: 5_000,
    socketTimeoutMS: 10_000,
    monitorCommands: options.monitorCommands ?? Boolean(options.onCommand),
  });
  if (options.onCommand) client.on('commandStarted', options.onCommand);
  await client.connect();
  return client;
}

export async function pingMongo(db: Db): Promise<boolean> {
  try {
    await db.command({ ping: 1 }, { timeoutMS: 1_000 });
    return true;
  } catch {
    return false;
  }
}

/** Each subgraph owns one database on the shared deployment: `<prefix>_<subgraph>`. */
export function databaseName(prefix: string, subgraph: string): string {
  return `${prefix}_${subgraph}`;
}

export function isDuplicateKey(error: unknown): boolean {
  return (
    typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 11000
  );
}

/**
 * Tags scans that look across every shard on purpose, off the request path: the repair passes
 * (unfinished writes) and the feed's list of high-fan-out authors. The shard-key test recognises
 * them by this comment.
 */
export const BACKGROUND_SCAN = 'background-scan';
