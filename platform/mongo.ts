import {
  MongoClient,
  ReadPreference,
  type Collection,
  type CommandStartedEvent,
  type Db,
  type ReadPreferenceMode,
  type W,
} from 'mongodb';
import { int, oneOf, readEnv } from './env.js';

export interface MongoConnectOptions {
  appName: string;
  /** Emit `commandStarted` events; the tests count database round trips with them. */
  monitorCommands?: boolean;
  onCommand?: (event: CommandStartedEvent) => void;
  /** From the environment (`readMongoSettings`) unless given. */
  settings?: MongoSettings;
}

export interface MongoSettings {
  /** `majority`, or how many members must have the write. */
  w: W;
  /** Acknowledged only once in the journal. */
  journal: boolean;
  /** How long a write may wait for its write concern before it fails. */
  writeTimeoutMs: number;
  /** Where reads that tolerate staleness go (`staleReads`); every other read goes to the primary. */
  staleReads: ReadPreferenceMode;
  /** A secondary further behind the primary than this is never read (MongoDB's minimum is 90). */
  maxStalenessSeconds: number;
}

/**
 * Write concern and read routing, configurable but explicit: a write is acknowledged once a
 * majority has it in their journals, so a failover cannot roll back what a client was told.
 */
export function readMongoSettings(source: Record<string, string | undefined> = process.env) {
  const env = readEnv(
    {
      MONGO_WRITE_CONCERN: oneOf(['majority', '1', '2', '3', '4', '5'] as const, 'majority'),
      MONGO_WRITE_JOURNAL: oneOf(['true', 'false'] as const, 'true'),
      MONGO_WRITE_TIMEOUT_MS: int(10_000, 1, 600_000),
      MONGO_STALE_READS: oneOf(
        ['primary', 'primaryPreferred', 'secondary', 'secondaryPreferred', 'nearest'] as const,
        'secondaryPreferred',
      ),
      MONGO_MAX_STALENESS_SECONDS: int(90, 90, 86_400),
    },
    source,
  );
  const w = env.MONGO_WRITE_CONCERN;
  return {
    w: w === 'majority' ? w : Number(w),
    journal: env.MONGO_WRITE_JOURNAL === 'true',
    writeTimeoutMs: env.MONGO_WRITE_TIMEOUT_MS,
    staleReads: env.MONGO_STALE_READS,
    maxStalenessSeconds: env.MONGO_MAX_STALENESS_SECONDS,
  } satisfies MongoSettings;
}

/** The read preference of each client's stale-tolerant reads, set by `connectMongo`. */
const staleReadPreferences = new WeakMap<MongoClient, ReadPreference>();

/**
 * One client per process: the driver pools connections itself. Short server-selection and connect
 * timeouts turn a missing database into a fast, clear error rather than a request hanging for 30 s,
 * and `socketTimeoutMS` bounds how long an operation may wait on a silent server.
 */
export async function connectMongo(
  uri: string,
  options: MongoConnectOptions,
): Promise<MongoClient> {
  const settings = options.settings ?? readMongoSettings();
  const client = new MongoClient(uri, {
    appName: options.appName,
    serverSelectionTimeoutMS: 5_000,
    connectTimeoutMS: 5_000,
    socketTimeoutMS: 10_000,
    monitorCommands: options.monitorCommands ?? Boolean(options.onCommand),
    writeConcern: { w: settings.w, journal: settings.journal, wtimeoutMS: settings.writeTimeoutMs },
    // Both are the driver's defaults; a connection string could turn them off, and they are what
    // lets a write or a read survive a failover without an error.
    retryWrites: true,
    retryReads: true,
    readPreference: ReadPreference.PRIMARY,
  });
  staleReadPreferences.set(
    client,
    settings.staleReads === 'primary'
      ? ReadPreference.primary
      : new ReadPreference(settings.staleReads, undefined, {
          maxStalenessSeconds: settings.maxStalenessSeconds,
        }),
  );
  if (options.onCommand) client.on('commandStarted', options.onCommand);
  await client.connect();
  return client;
}

/**
 * The same database, for reads that may be a little behind (by at most `maxStalenessSeconds`):
 * counts and pages of comments and likes, which nobody needs to see their own write in (a
 * mutation answers with the count its own recount produced). Reads that must show the caller's
 * writes, and every read inside a write, use `db` itself: the primary.
 */
export function staleReads(db: Db): Db {
  const readPreference = staleReadPreferences.get(db.client) ?? ReadPreference.primary;
  return db.client.db(db.databaseName, { readPreference });
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
 * Drops an index this code created once and no longer needs: every write keeps an index up to
 * date, so one left behind costs each write for nothing. Idempotent (replicas start together).
 */
export async function dropSupersededIndex(
  collection: Pick<Collection, 'dropIndex'>,
  name: string,
): Promise<void> {
  try {
    await collection.dropIndex(name);
  } catch (error) {
    // IndexNotFound: never created here, or another replica dropped it first.
    if ((error as { code?: unknown }).code !== 27) throw error;
  }
}

/**
 * Tags scans that look across every shard on purpose, off the request path: the repair passes
 * (unfinished writes) and the feed's list of high-fan-out authors. The shard-key test recognises
 * them by this comment.
 */
export const BACKGROUND_SCAN = 'background-scan';
