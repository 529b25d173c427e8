import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GraphQLError } from 'graphql';
import { encodeCursor, readPage, toConnection } from '../../platform/connection.js';
import { newId } from '../../platform/ids.js';

const code = (error: unknown) => (error as GraphQLError).extensions.code;

test('first defaults to 20 and must be 1 to 100', () => {
  assert.equal(readPage('posts', {}).limit, 20);
  assert.equal(readPage('posts', { first: 100 }).limit, 100);
  for (const first of [0, -1, 101, 1.5]) {
    assert.throws(
      () => readPage('posts', { first }),
      (error) => code(error) === 'BAD_USER_INPUT',
    );
  }
});

test('a cursor round-trips and only fits its own list', () => {
  const id = newId(1);
  const cursor = encodeCursor('posts', id);
  assert.equal(readPage('posts', { after: cursor }).after, id);
  assert.throws(
    () => readPage('comments', { after: cursor }),
    (error) => code(error) === 'BAD_USER_INPUT',
  );
});

test('garbage cursors are BAD_USER_INPUT', () => {
  for (const after of ['', 'x', '%%%', 'a'.repeat(500), encodeCursor('posts', 'not-an-id')]) {
    assert.throws(
      () => readPage('posts', { after }),
      (error) => code(error) === 'BAD_USER_INPUT',
      after,
    );
  }
});

test('the extra row only tells that a next page exists', () => {
  const rows = ['a', 'b', 'c'];
  const page = toConnection('k', rows, 2, (row) => row);
  assert.deepEqual(
    page.edges.map((edge) => edge.node),
    ['a', 'b'],
  );
  assert.equal(page.pageInfo.hasNextPage, true);
  assert.equal(page.pageInfo.endCursor, encodeCursor('k', 'b'));
  const last = toConnection('k', rows, 3, (row) => row);
  assert.equal(last.pageInfo.hasNextPage, false);
  assert.equal(toConnection('k', [], 3, (row: string) => row).pageInfo.endCursor, null);
});
