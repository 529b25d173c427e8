import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { admit, loadTrustedDocuments, NOT_IN_LIST } from '../../gateway/trusted-documents.js';
import type { QueryCache } from '../../gateway/persisted-queries.js';

let dir: string;
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const QUERY = 'query Viewer { viewer { id } }';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trusted-'));
});
after(() => rm(dir, { recursive: true, force: true }));

async function manifest(entries: Record<string, string>): Promise<string> {
  const file = join(dir, `${Math.random()}.json`);
  await writeFile(file, JSON.stringify(entries));
  return file;
}

const emptyCache: QueryCache = {
  get: async () => undefined,
  set: async () => undefined,
  delete: async () => true,
};

test('a manifest entry is keyed by the SHA-256 of its text, with or without the sha256: prefix', async () => {
  const trusted = await loadTrustedDocuments(
    await manifest({ [`sha256:${sha256(QUERY)}`]: QUERY, [sha256('{ a }')]: '{ a }' }),
    true,
  );
  assert.equal(trusted.documents.get(sha256(QUERY)), QUERY);
  assert.equal(trusted.documents.get(sha256('{ a }')), '{ a }');
});

test('a hand-edited manifest whose hash does not match its text is refused at start-up', async () => {
  const file = await manifest({ [sha256(QUERY)]: 'mutation { deletePost(id: "x") }' });
  await assert.rejects(loadTrustedDocuments(file, true), /not the SHA-256 of its document/);
});

test('a socket message naming a manifest hash runs the manifest text; others wait on `only`', async () => {
  const trusted = await loadTrustedDocuments(await manifest({ [sha256(QUERY)]: QUERY }), true);
  const named = {
    query: '{ somethingElse }',
    extensions: { persistedQuery: { version: 1, sha256Hash: sha256(QUERY) } },
  };
  assert.equal(await admit(trusted, emptyCache, named), undefined);
  assert.equal(named.query, QUERY);
  assert.equal(await admit(trusted, emptyCache, { query: QUERY }), undefined);
  const refused = await admit(trusted, emptyCache, { query: '{ viewer { id } }' });
  assert.equal(refused?.extensions.code, NOT_IN_LIST);
  const registered: QueryCache = { ...emptyCache, get: async () => '{ viewer { id } }' };
  assert.equal(await admit(trusted, registered, { query: '{ viewer { id } }' }), undefined);
  trusted.only = false;
  assert.equal(await admit(trusted, emptyCache, { query: '{ viewer { id } }' }), undefined);
});
