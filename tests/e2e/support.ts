/**
 * Shared bits of the end-to-end suites: unique user ids, post fixtures and assertions on error
 * responses. Each suite starts its own stack (tests/helpers/stack.ts).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import type { Collection, IndexSpecification } from 'mongodb';
import { DEV_JWT_SECRET } from '../../platform/auth.js';
import { codes, ok, type GraphQLResult, type TestStack } from '../helpers/stack.js';

/** A user id no other test uses. */
export function uid(label = 'u'): string {
  return `${label}-${randomBytes(6).toString('hex')}`;
}

export const POST_ID = /^[0-9a-f]{25}$/;
export const ISO_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** A well-formed post id that names nothing. */
export function unknownPostId(): string {
  return `0000${randomBytes(11).toString('hex').slice(0, 21)}`;
}

export const PHOTO = {
  kind: 'PHOTO',
  url: 'https://cdn.example.com/photos/sunset.jpg',
  width: 1080,
  height: 1350,
  thumbnailUrl: 'https://cdn.example.com/photos/sunset-thumb.jpg',
};

export const VIDEO = {
  kind: 'VIDEO',
  url: 'https://cdn.example.com/videos/surf.mp4',
  width: 1920,
  height: 1080,
  durationMs: 15_500,
  thumbnailUrl: 'https://cdn.example.com/videos/surf-thumb.jpg',
};

export const CREATE_POST = `mutation Create($input: CreatePostInput!) {
  createPost(input: $input) {
    id caption createdAt updatedAt
    author { id }
    media { kind url width height durationMs thumbnailUrl }
  }
}`;

export interface CreatedPost {
  id: string;
  caption: string | null;
  createdAt: string;
  updatedAt: string;
  author: { id: string };
  media: Record<string, unknown>[];
}

export async function createPost(
  stack: TestStack,
  as: string,
  input: { caption?: string | null; media?: unknown[] } = {},
): Promise<CreatedPost> {
  const result = await stack.gql<{ createPost: CreatedPost }>(
    CREATE_POST,
    {
      input: {
        caption: 'caption' in input ? input.caption : `post by ${as}`,
        media: input.media ?? [PHOTO],
      },
    },
    { as },
  );
  return ok(result).createPost;
}

/** Runs `work` over `items` with at most `limit` in flight. */
export async function inBatches<T, R>(
  items: T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T);
    }
  });
  await Promise.all(workers);
  return results;
}

/**
 * The result failed with exactly `code` (every error carries it), the failed field is null, and
 * the error is clean: no stack trace, no HTTP 500.
 */
export function assertError(result: GraphQLResult<unknown>, code: string, message?: string): void {
  const got = codes(result);
  assert.ok(
    got.length > 0,
    `expected a ${code} error${message ? ` (${message})` : ''}, got data ${JSON.stringify(result.data)}`,
  );
  assert.deepEqual(
    [...new Set(got)],
    [code],
    `expected only ${code}${message ? ` (${message})` : ''}, got ${JSON.stringify(result.errors)}`,
  );
  assertClean(result);
}

/** No stack trace, no internals, and never a 500. */
export function assertClean(result: GraphQLResult<unknown>): void {
  assert.notEqual(result.status, 500, `HTTP 500: ${JSON.stringify(result.errors)}`);
  for (const error of result.errors ?? []) {
    const extensions = (error.extensions ?? {}) as Record<string, unknown>;
    assert.equal(extensions.stacktrace, undefined, 'stacktrace extension present');
    assert.equal(extensions.exception, undefined, 'exception extension present');
    assert.doesNotMatch(
      JSON.stringify(error),
      /\bat \/|node:internal|\.js:\d+:\d+/,
      'stack frames in an error',
    );
  }
}

/** Strictly decreasing (newest first) or increasing (oldest first) ids. */
export function assertOrdered(ids: string[], direction: 'desc' | 'asc', what: string): void {
  for (let i = 1; i < ids.length; i++) {
    const [a, b] = [ids[i - 1] as string, ids[i] as string];
    if (direction === 'desc')
      assert.ok(a > b, `${what}: ${a} should come before ${b} (newest first)`);
    else assert.ok(a < b, `${what}: ${a} should come before ${b} (oldest first)`);
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The service's readiness status once it is `expected`, or the last one seen after 10 s. */
export async function readiness(graphqlUrl: string, expected: number): Promise<number> {
  const url = graphqlUrl.replace(/graphql$/, 'health/ready');
  let status = 0;
  for (let i = 0; i < 100 && status !== expected; i++) {
    if (i > 0) await new Promise((resolve) => setTimeout(resolve, 100));
    status = (await fetch(url)).status;
  }
  return status;
}

/** Well-signed tokens every transport must refuse: one without `exp`, one that lives 30 days. */
export async function unboundedTokens(user: string): Promise<string[]> {
  const secret = new TextEncoder().encode(DEV_JWT_SECRET);
  const jwt = () =>
    new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(user).setIssuedAt();
  return [await jwt().sign(secret), await jwt().setExpirationTime('30d').sign(secret)];
}

/**
 * Start-up, run twice as by two replicas, drops `superseded` from a collection that has it, as a
 * deployment from before does, and keeps `kept`, the index that replaced it.
 */
export async function assertSupersededIndexDropped(
  collection: Collection,
  superseded: { key: IndexSpecification; name: string },
  kept: string,
  ensureIndexes: () => Promise<void>,
): Promise<void> {
  await collection.createIndex(superseded.key);
  await ensureIndexes();
  await ensureIndexes(); // again, with nothing left to drop: a second replica starting
  const names = (await collection.indexes()).map((index) => index.name);
  assert.ok(!names.includes(superseded.name), names.join(', '));
  assert.ok(names.includes(kept), names.join(', '));
}
