import DataLoader from 'dataloader';
import type { Collection, Document, Filter } from 'mongodb';
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
 * The first page of a list for each of many parents (the first comments of 50 posts) in one
 * command, `limit + 1` rows each so the caller can tell whether a next page exists. Each
 * parent's rows are an index walk that stops after its page, however long its list (a viral
 * post's likes): the parent alone is a sorted, limited `find`; several are one aggregate of such
 * walks, the first parent's followed by a `$unionWith` for each other one (MongoDB 4.4+; the
 * embedded server gets it from the launcher). A `$group` over all the parents' rows, the usual way,
 * reads every row of each.
 */
export async function pagesByParent<T extends Document & { _id: string }>(
  collection: Collection<T>,
  options: PagesByParentOptions,
): Promise<Map<string, T[]>> {
  const { parentField, parents, direction, page, where } = options;
  const bound = page.after ? { _id: { [direction === -1 ? '$lt' : '$gt']: page.after } } : {};
  const filter = (parent: { id: string; shard: number }) =>
    ({ shard: parent.shard, [parentField]: parent.id, ...where, ...bound }) as Filter<T>;
  const [first, ...others] = parents;
  if (!first) return new Map();
  const rows = (
    others.length === 0
      ? await collection
          .find(filter(first), {
            sort: { _id: direction },
            limit: page.limit + 1,
            batchSize: page.limit + 2,
          })
          .toArray()
      : await collection
          .aggregate(
            [
              ...walk(filter(first)),
              ...others.map((parent) => ({
                $unionWith: { coll: collection.collectionName, pipeline: walk(filter(parent)) },
              })),
            ],
            { batchSize: parents.length * (page.limit + 1) + 1 },
          )
          .toArray()
  ) as T[];
  const pages = new Map<string, T[]>();
  for (const row of rows) {
    const parentId = row[parentField] as string;
    const found = pages.get(parentId);
    if (found) found.push(row);
    else pages.set(parentId, [row]);
  }
  return pages;

  function walk(match: Filter<T>): Document[] {
    return [{ $match: match }, { $sort: { _id: direction } }, { $limit: page.limit + 1 }];
  }
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
