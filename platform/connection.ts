import { badInput } from './errors.js';
import { isEntityId } from './ids.js';

/**
 * Relay connections. A cursor is the sort key of the last item (always an id here, since ids sort
 * by time), tagged with what it pages, in base64url: opaque to clients, and a cursor of one list
 * handed to another is refused instead of silently mis-paging.
 */
export interface PageArgs {
  first?: number | null;
  after?: string | null;
}

export interface Page {
  limit: number;
  after: string | undefined;
}

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

export function encodeCursor(kind: string, key: string): string {
  return Buffer.from(`${kind}:${key}`, 'utf8').toString('base64url');
}

function decodeCursor(kind: string, cursor: string): string {
  const decoded = /^[A-Za-z0-9_-]{1,200}$/.test(cursor)
    ? Buffer.from(cursor, 'base64url').toString('utf8')
    : '';
  const prefix = `${kind}:`;
  const key = decoded.startsWith(prefix) ? decoded.slice(prefix.length) : '';
  if (!isEntityId(key)) throw badInput('`after` is not a valid cursor for this list');
  return key;
}

export function readPage(kind: string, args: PageArgs): Page {
  const first = args.first ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) {
    throw badInput(`\`first\` must be from 1 to ${MAX_PAGE_SIZE}`);
  }
  return {
    limit: first,
    after:
      args.after === undefined || args.after === null ? undefined : decodeCursor(kind, args.after),
  };
}

export interface Connection<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

/** Builds a connection from up to `limit + 1` rows: the extra row only says there is a next page. */
export function toConnection<T>(
  kind: string,
  rows: T[],
  limit: number,
  keyOf: (row: T) => string,
): Connection<T> {
  const page = rows.slice(0, limit);
  const edges = page.map((node) => ({ cursor: encodeCursor(kind, keyOf(node)), node }));
  return {
    edges,
    pageInfo: { hasNextPage: rows.length > limit, endCursor: edges.at(-1)?.cursor ?? null },
  };
}
