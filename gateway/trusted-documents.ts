import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError } from 'graphql';
import type { QueryCache } from './persisted-queries.js';

export const NOT_IN_LIST = 'PERSISTED_QUERY_NOT_IN_LIST';
/** Apollo Server's prefix for persisted-query keys in the cache it is given. */
export const APQ_PREFIX = 'apq:';

export interface TrustedDocuments {
  /** SHA-256 (hex) of each document's text → the text: the app's manifest from codegen. */
  documents: ReadonlyMap<string, string>;
  /**
   * Run only these documents (and persisted queries registered before): the production setting
   * for first-party apps, where no one else should be able to send the gateway a new operation.
   */
  only: boolean;
}

/** A document's hash, as Apollo Server and the manifest name it (hex SHA-256 of its text). */
export const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * The manifest GraphQL Code Generator writes (`persistedDocuments` of the client preset): a JSON
 * object from `sha256:<hex>` (or bare hex) to document. Each hash is checked against its text, so
 * a hand-edited manifest cannot make the gateway trust something other than what it names.
 */
export async function loadTrustedDocuments(path: string, only: boolean): Promise<TrustedDocuments> {
  const manifest = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  const documents = new Map<string, string>();
  for (const [key, text] of Object.entries(manifest)) {
    const hash = key.replace(/^sha256:/, '');
    if (typeof text !== 'string' || sha256(text) !== hash)
      throw new Error(`${path}: the entry ${key} is not the SHA-256 of its document`);
    documents.set(hash, text);
  }
  return { documents, only };
}

/**
 * The persisted-query store with the manifest in front: the app sends only a document's hash, and
 * the gateway finds it even on a replica where nothing was ever registered.
 */
export function withTrustedDocuments(cache: QueryCache, trusted: TrustedDocuments): QueryCache {
  return {
    async get(key) {
      const known = key.startsWith(APQ_PREFIX)
        ? trusted.documents.get(key.slice(APQ_PREFIX.length))
        : undefined;
      return known ?? cache.get(key);
    },
    set: (key, value, options) => cache.set(key, value, options),
    delete: (key) => cache.delete(key),
  };
}

function notInList(): GraphQLError {
  return new GraphQLError('This gateway runs only the operations of its trusted documents', {
    extensions: { code: NOT_IN_LIST, http: { status: 400 } },
  });
}

/**
 * Over HTTP: with `only`, an operation runs when its text came from the persisted-query store (the
 * manifest, or registered before) or is a manifest document; anything else is refused before it
 * could be registered. Operations that Apollo Server is handed in-process (the WebSocket path, its
 * follow-up queries) carry no HTTP request: the WebSocket is held to the same rule by `admit`.
 */
export function trustedDocumentsPlugin(trusted: TrustedDocuments): ApolloServerPlugin {
  return {
    async requestDidStart({ request }) {
      if (!trusted.only || !request.http) return;
      return {
        async didResolveOperation({ source, metrics }) {
          if (metrics.persistedQueryHit || trusted.documents.has(sha256(source))) return;
          throw notInList();
        },
      };
    },
  };
}

/** What a graphql-ws `subscribe` message carries. */
interface SocketPayload {
  query: string;
  extensions?: Record<string, unknown> | null;
}

/**
 * Over the WebSocket: a payload naming a manifest document by hash
 * (`extensions.persistedQuery.sha256Hash`) runs that document, whatever text came with it, so an
 * app can send hash-only messages; with `only`, any other text must be a manifest document or a
 * registered persisted query. Returns the refusal, or rewrites `payload.query` and returns nothing.
 */
export async function admit(
  trusted: TrustedDocuments,
  cache: QueryCache,
  payload: SocketPayload,
): Promise<GraphQLError | undefined> {
  const named = (payload.extensions?.persistedQuery as { sha256Hash?: unknown } | undefined)
    ?.sha256Hash;
  const document = typeof named === 'string' ? trusted.documents.get(named) : undefined;
  if (document !== undefined) {
    payload.query = document;
    return undefined;
  }
  if (!trusted.only) return undefined;
  const hash = sha256(payload.query ?? '');
  if (trusted.documents.has(hash)) return undefined;
  const registered = await cache.get(`${APQ_PREFIX}${hash}`).catch(() => undefined);
  return registered === undefined ? notInList() : undefined;
}
