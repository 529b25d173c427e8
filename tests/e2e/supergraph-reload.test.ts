import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { projectPath } from '../../platform/paths.js';
import { codes, ok, startStack, type TestStack } from '../helpers/stack.js';

let stack: TestStack;
let dir: string;
let file: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'supergraph-'));
  file = join(dir, 'supergraph.graphql');
  await copyFile(projectPath('schema/supergraph.graphql'), file);
  stack = await startStack({ supergraphPath: file });
});

after(async () => {
  await stack.stop();
  await rm(dir, { recursive: true, force: true });
});

/** The supergraph as it would be if the comments subgraph had no Query type. */
async function composeWithoutCommentQuery(): Promise<string> {
  const read = (name: string) => readFile(projectPath(`schema/${name}.graphql`), 'utf8');
  const comments = (await read('comments')).replace(/type Query[^{]*\{[^}]*\}/, '');
  assert.ok(!comments.includes('type Query'));
  const result = composeServices([
    { name: 'feed', url: 'http://127.0.0.1:4001/graphql', typeDefs: parse(await read('feed')) },
    { name: 'likes', url: 'http://127.0.0.1:4002/graphql', typeDefs: parse(await read('likes')) },
    { name: 'comments', url: 'http://127.0.0.1:4003/graphql', typeDefs: parse(comments) },
  ]);
  assert.equal(result.errors, undefined);
  return result.supergraphSdl as string;
}

test('the gateway serves a new supergraph once the file changes, and keeps serving on a bad one', async () => {
  const query = '{ comment(id: "0000000000000000000000000") { id } }';
  assert.deepEqual(ok(await stack.gql(query)), { comment: null });

  await writeFile(file, await composeWithoutCommentQuery());
  let result = await stack.gql(query);
  for (let i = 0; i < 50 && !result.errors; i++) {
    await delay(100);
    result = await stack.gql(query);
  }
  assert.deepEqual(codes(result), ['GRAPHQL_VALIDATION_FAILED']);

  await writeFile(file, 'this is not a supergraph');
  await delay(500);
  assert.deepEqual(codes(await stack.gql(query)), ['GRAPHQL_VALIDATION_FAILED']);
  assert.ok(ok(await stack.gql('{ post(id: "x") { id } }')));
});
