import DataLoader from 'dataloader';
import type { Collection, Db, Document, Filter } from 'mongodb';
import type { Page } from './connection.js';
import { measuredBatch, type Metrics } from './metrics.js';

export interface PagesByParentOptions {
  /** The field naming the parent, for example `postId`. */
  parentField: string;
  /** Each parent with the logical shard its rows live on. */
  parents: readonly { id: string; shard: number }[];
  /** Order by `_id` (time): -1 newest first, 1 oldest first. */
  direction: 1 | -1;
  page: Page;
  /** Further conditions on the rows, for example `{ deleted: { $ne: true } }`. */
  where?: Document;
}

/**
 * Whether each database's server has the `$firstN` accumulator (MongoDB 5.2+). mongo-java-server,
 * used for local runs and tests, does not; there `$push` then `$slice` gives the same rows, at the
 * cost of gathering each parent's whole list on the server, which only a real deployment's sizes
 * would notice.
 */
const firstNSupport = new Map<string, boolean>();

/** Probes the server once, at start-up, so no request pays for it. */
export async function prepareGroupedPages(db: Db): Promise<void> {
  try {
    await db
      .collection('grouped_pages_probe')
      .aggregate([{ $group: { _id: null, rows: { $firstN: { n: 1, input: '$$ROOT' } } } }])
      .toArray();
    firstNSupport.set(db.databaseName, true);
  } catch {
    firstNSupport.set(db.databaseName, false);
  }
}

/**
 * The first page of a list for each of many parents (the first comments of 50 posts) in one
 * command, `limit + 1` rows each so the caller can tell whether a next page exists.
 *
 * For one parent (a post's page of likes), an index walk that stops after the page, however long
 * the list. For several, one aggregate: rows sorted by parent then id, and `$firstN` keeps
 * `limit + 1` per parent, so the server never holds a parent's whole list, though it still reads
 * every row of each (no group stops early): a viral post among the parents costs its whole list.
 * The feed's own previews avoid that (a post's first comments are kept with its count).
 */
export async function pagesByParent<T extends Document & { _id: string }>(
  collection: Collection<T>,
  options: PagesByParentOptions,
): Promise<Map<string, T[]>> {
  const { parentField, parents, direction, page, where } = options;
  const bound = page.after ? { _id: { [direction === -1 ? '$lt' : '$gt']: page.after } } : {};
  const [only] = parents;
  if (parents.length === 1 && only) {
    const rows = await collection
      .find({ shard: only.shard, [parentField]: only.id, ...where, ...bound } as Filter<T>, {
        sort: { _id: direction },
        limit: page.limit + 1,
        batchSize: page.limit + 2,
      })
      .toArray();
    return new Map(rows.length > 0 ? [[only.id, rows as T[]]] : []);
  }
  const groups = await collection
    .aggregate<{ _id: string; rows: T[] }>(
      [
        {
          $match: {
            shard: { $in: [...new Set(parents.map((parent) => parent.shard))] },
            [parentField]: { $in: parents.map((parent) => parent.id) },
            ...where,
            ...bound,
          },
        },
        { $sort: { [parentField]: 1, _id: direction } },
        ...(firstNSupport.get(collection.dbName) === false
          ? [
              { $group: { _id: `$${parentField}`, rows: { $push: '$$ROOT' } } },
              { $project: { rows: { $slice: ['$rows', page.limit + 1] } } },
            ]
          : [
              {
                $group: {
                  _id: `$${parentField}`,
                  rows: { $firstN: { n: page.limit + 1, input: '$$ROOT' } },
                },
              },
            ]),
      ],
      { batchSize: parents.length + 1 },
    )
    .toArray();
  // Sorted again here: a server may hand `$firstN` rows on in any order within the group.
  const byId = (a: T, b: T) => (a._id < b._id ? -direction : a._id > b._id ? direction : 0);
  return new Map(groups.map((group) => [group._id, group.rows.sort(byId)]));
}

export interface PageKey {
  parentId: string;
  page: Page;
}

const pageKey = (key: PageKey) => `${key.parentId}|${key.page.limit}|${key.page.after ?? ''}`;

/**
 * A DataLoader of one page per parent. Keys that ask for the same page size and cursor (the same
 * field across the parents of one query, which is the usual case) share one fetch.
 */
export function pageLoader<T>(
  metrics: Metrics,
  name: string,
  fetch: (parentIds: string[], page: Page) => Promise<Map<string, T[]>>,
): DataLoader<PageKey, T[], string> {
  return new DataLoader<PageKey, T[], string>(
    measuredBatch(metrics, name, async (keys) => {
      const groups = new Map<string, PageKey[]>();
      for (const key of keys) {
        const group = `${key.page.limit}|${key.page.after ?? ''}`;
        groups.set(group, [...(groups.get(group) ?? []), key]);
      }
      const results = new Map<string, T[]>();
      for (const group of groups.values()) {
        const pages = await fetch(
          group.map((key) => key.parentId),
          (group[0] as PageKey).page,
        );
        for (const key of group) results.set(pageKey(key), pages.get(key.parentId) ?? []);
      }
      return keys.map((key) => results.get(pageKey(key)) ?? []);
    }),
    { cacheKeyFn: pageKey },
  );
}

/** Orders documents as `ids`, with null for the missing: the contract of a DataLoader batch. */
export function inIdOrder<T extends { _id: string }>(
  ids: readonly string[],
  docs: T[],
): (T | null)[] {
  const found = new Map(docs.map((doc) => [doc._id, doc]));
  return ids.map((id) => found.get(id) ?? null);
}
