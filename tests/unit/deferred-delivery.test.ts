import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildSchema, parse, print, type GraphQLObjectType, type SelectionSetNode } from 'graphql';
import { instancesAt, shapeDeferred, withoutDeferred } from '../../gateway/defer/deferred-shape.js';
import { acceptsDeferredParts, multipartBody } from '../../gateway/defer/multipart.js';

test('multipart is chosen only for the 2022-08-24 defer format, or for no format named', () => {
  for (const accept of [
    'multipart/mixed;deferSpec=20220824,application/graphql-response+json,application/json',
    'application/json, multipart/mixed; deferSpec="20220824"',
    'multipart/mixed',
  ])
    assert.equal(acceptsDeferredParts(accept), true, accept);
  for (const accept of [
    undefined,
    '',
    'application/json',
    '*/*',
    'multipart/mixed;subscriptionSpec=1.0, application/json',
    'multipart/mixed;incrementalSpec=v0.2',
    'multipart/mixed;deferSpec=20220824;q=0, application/json',
  ])
    assert.equal(acceptsDeferredParts(accept), false, String(accept));
});

test('the body: a delimiter before each part, the closing one after the last', async () => {
  async function* rest() {
    yield { incremental: [{ data: { a: 1 }, path: ['x'] }], hasNext: true };
    yield { hasNext: false };
  }
  const chunks: string[] = [];
  const first = JSON.stringify({ data: { x: {} }, hasNext: true });
  for await (const chunk of multipartBody(first, rest(), 10_000, () => assert.fail('too large')))
    chunks.push(chunk);
  const head = 'content-type: application/json; charset=utf-8\r\n\r\n';
  assert.deepEqual(chunks, [
    `\r\n--graphql\r\n${head}{"data":{"x":{}},"hasNext":true}\r\n--graphql\r\n`,
    `${head}{"incremental":[{"data":{"a":1},"path":["x"]}],"hasNext":true}\r\n--graphql\r\n`,
    `${head}{"hasNext":false}\r\n--graphql--\r\n`,
  ]);
});

test('a part past the size limit becomes its items with the error, and the body ends there', async () => {
  let returned = false;
  async function* rest() {
    try {
      yield {
        incremental: [{ data: { a: 'x'.repeat(200) }, path: ['x'], label: 'l' }],
        hasNext: true,
      };
      yield { incremental: [{ data: { b: 1 }, path: ['y'] }], hasNext: false };
    } finally {
      returned = true;
    }
  }
  const oversized: number[] = [];
  const chunks: string[] = [];
  for await (const chunk of multipartBody('{"data":{},"hasNext":true}', rest(), 100, (bytes) =>
    oversized.push(bytes),
  ))
    chunks.push(chunk);
  assert.equal(chunks.length, 2);
  assert.ok(chunks[1]?.endsWith('\r\n--graphql--\r\n'));
  const part = JSON.parse(chunks[1]?.split('\r\n\r\n')[1]?.split('\r\n--graphql')[0] ?? '');
  assert.deepEqual(part, {
    incremental: [
      {
        data: null,
        path: ['x'],
        label: 'l',
        errors: [
          {
            message: `The response would be ${oversized[0]} bytes, more than 100: ask for fewer or smaller pages`,
            extensions: { code: 'QUERY_TOO_COMPLEX' },
          },
        ],
      },
    ],
    hasNext: false,
  });
  assert.ok(returned, 'the deferred work is stopped');
});

test('the first part is the document without the fragments deferred for these variables', () => {
  const document = parse(`query Q($later: Boolean!) {
    post { id ... @defer { a } ... @defer(if: false) { b } ... @defer(if: $later) { c } ...F @defer }
  }
  fragment F on Post { d }`);
  const strip = (later: boolean) => print(withoutDeferred(document, { later }).definitions[0]!);
  assert.doesNotMatch(strip(true), /\{ a \}|\{ c \}|\.\.\.F/);
  assert.match(strip(true), /@defer\(if: false\) \{\s+b/);
  assert.match(strip(false), /@defer\(if: \$later\) \{\s+c/);
});

const schema = buildSchema(`
  type Query { feed: [Post!]! }
  type Post { id: ID! likeCount: Int! caption: String comments: [Comment!]! }
  type Comment { id: ID! body: String! }
`);
const selection = (text: string) =>
  (parse(text).definitions[0] as { selectionSet: SelectionSetNode }).selectionSet;
const Post = schema.getType('Post') as GraphQLObjectType;

test("a deferred fragment's data: its fields only, nulls stop at the fragment", () => {
  const raw = {
    __typename: 'Post',
    id: 'p1',
    likeCount: 3,
    caption: null,
    comments: [{ id: 'c1', body: 'hi', extra: true }],
  };
  const set = selection('{ likeCount caption comments { body } }');
  assert.deepEqual(shapeDeferred(schema, Post, set, raw, ['feed', 0], {}), {
    data: { likeCount: 3, caption: null, comments: [{ body: 'hi' }] },
    nulls: [],
  });
  // A comment without its non-null body: the list is non-null too, so the whole fragment is null.
  const broken = { ...raw, comments: [{ id: 'c1', body: null }] };
  const shaped = shapeDeferred(schema, Post, set, broken, ['feed', 0], {});
  assert.equal(shaped.data, null);
  assert.deepEqual(
    shaped.nulls.map((error) => [error.message, error.path]),
    [
      [
        'Cannot return null for non-nullable field Comment.body',
        ['feed', 0, 'comments', 0, 'body'],
      ],
    ],
  );
});

test('instances: every list element on the path, none below a null', () => {
  const delivered = { feed: [{ id: 'a' }, null, { id: 'c' }] };
  assert.deepEqual(
    instancesAt(delivered, delivered, ['feed'], schema).map((instance) => instance.path),
    [
      ['feed', 0],
      ['feed', 2],
    ],
  );
});
