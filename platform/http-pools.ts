import { Pool } from 'undici';

/** Where a service sends requests to one URL: the pool of its origin and the path there. */
export interface PoolTarget {
  pool: Pool;
  path: string;
}

const targets = new Map<string, PoolTarget>();

/**
 * The keep-alive undici pool for `url`'s origin (connections opened as needed), one per URL and
 * timeout for the life of the process, the URL parsed once. A request fails when no answer
 * headers come within `timeoutMs`, or when its body stalls that long.
 */
export function poolFor(url: string, timeoutMs: number): PoolTarget {
  const key = `${timeoutMs} ${url}`;
  let target = targets.get(key);
  if (!target) {
    const parsed = new URL(url);
    target = {
      pool: new Pool(parsed.origin, { headersTimeout: timeoutMs, bodyTimeout: timeoutMs }),
      path: parsed.pathname + parsed.search,
    };
    targets.set(key, target);
  }
  return target;
}
