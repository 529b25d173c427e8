import { Redis } from 'ioredis';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

/**
 * A read-through cache in Redis for documents that carry a version (a counter's recount ticket, a
 * post's `updatedAt`). Every write goes through `put`, which keeps whichever version is newer, in
 * one atomic script: a reader that fetched a document before a write cannot put back the old one
 * after the writer put the new one, so a write is visible to the next read. TTLs are a backstop.
 *
 * Redis is never needed for an answer: a command that fails or takes longer than `timeoutMs`
 * counts as an error and the caller reads MongoDB instead; once errors outnumber answers the cache
 * stays out of the way for a second, so a hung Redis costs a few timeouts a second, not one per
 * request, and slow answers on a busy machine cost only their own requests. A put that failed
 * may have left an older version behind: the key is remembered, never read from the cache by this
 * process, and deleted as soon as Redis answers again.
 *
 * The cache never outlives the database: after a rollback or a restore (the database restarted
 * from an older state, a backup put back), Redis holds versions newer than the database's, which
 * keep-the-newer puts would never replace. `reconcile`, run by every repair pass, compares each
 * cached version with the database's and drops the cached documents the database is behind.
 */
export interface CacheOptions {
  url: string;
  /** First part of every key, shared with the events prefix so that deployments stay apart. */
  prefix: string;
  timeoutMs: number;
  ttlSeconds: number;
  /**
   * The repair interval: each kind is reconciled by one process an interval, whichever asks
   * first, however many processes share the cache.
   */
  reconcileEveryMs?: number;
  /**
   * Most Redis keys one pass examines for a kind (`CACHE_RECONCILE_KEYS`), so at most as many
   * cached documents read back from the database; the next pass goes on from there.
   */
  reconcileKeysPerPass?: number;
  logger: Logger;
  metrics: Metrics;
}

export interface Cache {
  /** A typed view of one kind of document, under `<prefix>:<name>:<id>`. */
  of<T>(name: string, codec: CacheCodec<T>): CachedCollection<T>;
  /** For readiness: whether Redis answers now. */
  connected(): boolean;
  close(): Promise<void>;
}

export interface CacheCodec<T> {
  version(doc: T): number;
  encode(doc: T): unknown;
  decode(value: unknown): T;
  /**
   * Whether `doc` is a tombstone: cached when its document was marked deleted, kept so that no
   * older version can be put back, and expected to outlive the document's row once that is
   * purged. Reconciling drops such a one without counting it as a rollback.
   */
  deleted?(doc: T): boolean;
}

export interface CachedCollection<T> {
  /** The cached documents among `ids`; the missing are for the caller to read and `put`. */
  get(ids: readonly string[]): Promise<Map<string, T>>;
  /** Stores each document unless a newer version of it is cached already. */
  put(docs: { id: string; doc: T }[]): Promise<void>;
  /**
   * Read-through: the cached documents among `ids`, and those `fetch` finds for the rest, which
   * are put for the next reader. An id `fetch` does not return stays absent.
   */
  through(
    ids: readonly string[],
    fetch: (missing: string[]) => Promise<{ id: string; doc: T }[]>,
  ): Promise<Map<string, T>>;
  /** Deletes the cached documents of `ids`: for documents deleted from the database on purpose. */
  drop(ids: readonly string[]): Promise<void>;
  /**
   * Drops every cached document whose version is newer than the one `fetch` finds in the
   * database (or that `fetch` does not find): what a rollback or a restore left. Returns how many,
   * tombstones of purged documents (`CacheCodec.deleted`) dropped but not counted.
   * A call walks the next `reconcileKeysPerPass` keys of the kind, unless another process walked
   * it less than `reconcileEveryMs` ago.
   */
  reconcile(fetch: (ids: string[]) => Promise<{ id: string; doc: T }[]>): Promise<number>;
}

/** Keys read per round trip by `reconcile`, and ids per database read. */
const RECONCILE_BATCH = 500;

/** `reconcileEveryMs` when absent: the default repair interval. */
const DEFAULT_RECONCILE_EVERY_MS = 30_000;

/** `reconcileKeysPerPass` when absent, and `CACHE_RECONCILE_KEYS`'s default. */
export const DEFAULT_RECONCILE_KEYS = 20_000;

/** Sets KEYS[1] to ARGV[2] (prefixed with its version ARGV[1]) unless a newer version is there. */
const PUT_IF_NEWER = `
local current = redis.call('GET', KEYS[1])
if current then
  local version = tonumber(string.match(current, '^(%d+)|'))
  if version and version > tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. ARGV[2], 'EX', ARGV[3])
return 1`;

/** Deletes KEYS[1] only if it still holds ARGV[1]: a put made meanwhile is newer, and stays. */
const DELETE_IF_UNCHANGED = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

interface CacheScripts {
  putIfNewer(key: string, version: number, value: string, ttl: number): void;
  deleteIfUnchanged(key: string, value: string): void;
}

/**
 * The cache steps aside for `PAUSE_MS` once, within a stretch of `PAUSE_MS`, at least
 * `FAILURES_TO_PAUSE` commands failed and failures outnumber answers: a hung Redis then costs a
 * few timeouts a second rather than one per request, while slow answers now and then on a busy
 * machine (a burst of them when Redis waits for a core) cost only their own requests a miss.
 */
const FAILURES_TO_PAUSE = 3;
const PAUSE_MS = 1_000;

/**
 * ioredis's own per-command timeout, kept only to empty its queue when Redis hangs for good: the
 * request path gives up after `timeoutMs`, through `answeredWithin`.
 */
const QUEUE_TIMEOUT_MS = 2_000;

/**
 * `command`'s answer, or a rejection once `ms` have passed without it. The check runs one turn of
 * the event loop after the timer, once the sockets have been read: a reply that arrived while this
 * process was busy (a long tick under load) counts as an answer, not as a slow Redis. A bare timer
 * (ioredis's `commandTimeout`) fires before such a reply is read, so under load a healthy Redis
 * looked hung, each false timeout turned the cache off for a second, and those requests read
 * MongoDB instead: more work, longer ticks, more false timeouts.
 */
function answeredWithin<T>(command: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const timer = setTimeout(
      () =>
        setImmediate(() => {
          if (!answered) reject(new Error(`cache: no answer from Redis within ${ms} ms`));
        }),
      ms,
    );
    command.then(
      (value) => {
        answered = true;
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        answered = true;
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

export function connectCache(options: CacheOptions): Cache {
  const redis = new Redis(options.url, {
    commandTimeout: Math.max(QUEUE_TIMEOUT_MS, options.timeoutMs),
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    lazyConnect: false,
  });
  redis.defineCommand('putIfNewer', { numberOfKeys: 1, lua: PUT_IF_NEWER });
  redis.defineCommand('deleteIfUnchanged', { numberOfKeys: 1, lua: DELETE_IF_UNCHANGED });
  let pausedUntil = 0;
  let lastWarning = -Infinity;
  /** Keys whose put failed: possibly stale in Redis until deleted. */
  const unwritten = new Set<string>();
  redis.on('ready', () => {
    if (unwritten.size === 0) return;
    const keys = [...unwritten];
    redis.del(...keys).then(
      () => keys.forEach((key) => unwritten.delete(key)),
      () => undefined, // still unwritten: tried again at the next reconnection
    );
  });
  redis.on('error', (error: Error) => {
    // ioredis reports every reconnection attempt; one line a minute says enough.
    if (performance.now() - lastWarning > 60_000) {
      lastWarning = performance.now();
      options.logger.warn({ err: error }, 'cache: redis unavailable, reading the database');
    }
  });
  // Pauses keep time on a clock that only goes forward: after a step back of the wall clock, a
  // pause would have lasted until it caught up.
  const usable = () => redis.status === 'ready' && performance.now() >= pausedUntil;
  const count = (cache: string, outcome: string, n = 1) => {
    if (n > 0) options.metrics.cache.inc({ cache, outcome }, n);
  };
  /** Answers and failures since `tallyStarted`, a stretch of at most `PAUSE_MS`. */
  let tallyStarted = -Infinity;
  let answers = 0;
  let failures = 0;
  const tally = (answered: boolean) => {
    const now = performance.now();
    if (now - tallyStarted >= PAUSE_MS) {
      tallyStarted = now;
      answers = 0;
      failures = 0;
    }
    if (answered) answers += 1;
    else failures += 1;
    if (failures >= FAILURES_TO_PAUSE && failures > answers) {
      pausedUntil = now + PAUSE_MS;
      tallyStarted = -Infinity;
    }
  };
  const failed = (cache: string, error: unknown) => {
    tally(false);
    count(cache, 'error');
    options.logger.debug({ err: error, cache }, 'cache command failed');
  };

  return {
    of<T>(name: string, codec: CacheCodec<T>): CachedCollection<T> {
      const keyOf = (id: string) => `${options.prefix}:${name}:${id}`;
      const idOf = (key: string) => key.slice(keyOf('').length);

      /** Deletes those of `keys` whose cached version is ahead of the database's. */
      const dropAhead = async (
        keys: string[],
        fetch: (ids: string[]) => Promise<{ id: string; doc: T }[]>,
      ): Promise<number> => {
        // Cache first, then the database: a write landing in between makes the database newer
        // than what was read here, never older, so nothing current is dropped.
        const values = await redis.mget(keys);
        const cached = keys.flatMap((key, i) => {
          const value = values[i];
          return value ? [{ key, value, version: Number(value.slice(0, value.indexOf('|'))) }] : [];
        });
        const inDatabase = new Map(
          (await fetch(cached.map(({ key }) => idOf(key)))).map(({ id, doc }) => [
            id,
            codec.version(doc),
          ]),
        );
        const ahead = cached.filter(
          ({ key, version }) => !(version <= (inDatabase.get(idOf(key)) ?? -1)),
        );
        if (ahead.length === 0) return 0;
        // A tombstone whose row is gone is what a purge leaves, not a rollback.
        const purged = (key: string, value: string) =>
          !inDatabase.has(idOf(key)) &&
          codec.deleted?.(codec.decode(JSON.parse(value.slice(value.indexOf('|') + 1)))) === true;
        const pipeline = redis.pipeline();
        for (const { key, value } of ahead) {
          (pipeline as unknown as CacheScripts).deleteIfUnchanged(key, value);
        }
        const results = (await pipeline.exec()) ?? [];
        return results.filter(
          ([error, deleted], i) =>
            !error && deleted === 1 && !purged(ahead[i]?.key ?? '', ahead[i]?.value ?? ''),
        ).length;
      };
      const collection: CachedCollection<T> = {
        async get(ids) {
          const found = new Map<string, T>();
          if (ids.length === 0) return found;
          if (!usable()) {
            count(name, 'skipped', ids.length);
            return found;
          }
          const keys = ids.map(keyOf);
          try {
            const values = await answeredWithin(redis.mget(keys), options.timeoutMs);
            tally(true);
            values.forEach((value, i) => {
              if (value === null || unwritten.has(keys[i] as string)) return;
              const body = value.slice(value.indexOf('|') + 1);
              found.set(ids[i] as string, codec.decode(JSON.parse(body)));
            });
          } catch (error) {
            failed(name, error);
            return found;
          }
          count(name, 'hit', found.size);
          count(name, 'miss', ids.length - found.size);
          return found;
        },

        async put(docs) {
          if (docs.length === 0) return;
          const forget = () => docs.forEach(({ id }) => unwritten.add(keyOf(id)));
          if (!usable()) return forget();
          const pipeline = redis.pipeline();
          for (const { id, doc } of docs) {
            (pipeline as unknown as CacheScripts).putIfNewer(
              keyOf(id),
              codec.version(doc),
              JSON.stringify(codec.encode(doc)),
              options.ttlSeconds,
            );
          }
          try {
            const results = await answeredWithin(pipeline.exec(), options.timeoutMs);
            tally(true);
            const error = results?.find(([failure]) => failure)?.[0];
            if (error) throw error;
            for (const { id } of docs) unwritten.delete(keyOf(id));
          } catch (error) {
            failed(name, error);
            forget();
          }
        },

        async drop(ids) {
          if (ids.length === 0) return;
          const keys = ids.map(keyOf);
          // Remembered until deleted: this process reads none of them from the cache meanwhile.
          for (const key of keys) unwritten.add(key);
          if (!usable()) return;
          try {
            await answeredWithin(redis.del(...keys), options.timeoutMs);
            tally(true);
            for (const key of keys) unwritten.delete(key);
          } catch (error) {
            failed(name, error);
          }
        },

        async through(ids, fetch) {
          const found = await collection.get(ids);
          const missing = ids.filter((id) => !found.has(id));
          if (missing.length === 0) return found;
          const fetched = await fetch(missing);
          for (const { id, doc } of fetched) found.set(id, doc);
          await collection.put(fetched);
          return found;
        },

        async reconcile(fetch) {
          if (redis.status !== 'ready') return 0;
          let dropped = 0;
          const lease = `${options.prefix}:reconcile:${name}`;
          const cursorKey = `${lease}:cursor`;
          try {
            // Every replica of a subgraph runs repair passes. Were each to walk every key, the
            // database would read each cached document once per replica per interval; the lease
            // (kept, not released, for most of an interval) lets one walk an interval.
            const everyMs = options.reconcileEveryMs ?? DEFAULT_RECONCILE_EVERY_MS;
            const leaseMs = Math.max(1, Math.floor(everyMs * 0.9));
            if ((await redis.set(lease, '1', 'PX', leaseMs, 'NX')) !== 'OK') return 0;
            // SCAN, not KEYS: the keyspace is walked a batch at a time without blocking Redis,
            // and a pass goes on from where the last one stopped (a cursor is valid across
            // connections), so a pass costs at most its budget however many keys are cached.
            let cursor = (await redis.get(cursorKey)) ?? '0';
            let scanned = 0;
            do {
              const [next, keys] = await redis.scan(
                cursor,
                'MATCH',
                keyOf('*'),
                'COUNT',
                RECONCILE_BATCH,
              );
              cursor = next;
              scanned += RECONCILE_BATCH;
              if (keys.length > 0) dropped += await dropAhead(keys, fetch);
            } while (
              cursor !== '0' &&
              scanned < (options.reconcileKeysPerPass ?? DEFAULT_RECONCILE_KEYS)
            );
            // Kept past the cached documents' lifetime only if nobody walks again meanwhile.
            await redis.set(cursorKey, cursor, 'EX', options.ttlSeconds);
          } catch (error) {
            // Redis went away mid-walk: the next repair pass walks again.
            failed(name, error);
          }
          if (dropped > 0) {
            options.logger.warn(
              { cache: name, dropped },
              'cache: dropped documents newer than the database (rolled back or restored)',
            );
          }
          return dropped;
        },
      };
      return collection;
    },
    connected: () => redis.status === 'ready',
    async close() {
      redis.disconnect();
    },
  };
}
