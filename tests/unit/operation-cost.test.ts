import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { buildSubgraphSchema } from '@apollo/subgraph';
import {
  buildSchema,
  execute,
  getIntrospectionQuery,
  getOperationAST,
  parse,
  type OperationDefinitionNode,
} from 'graphql';
import {
  checkOperationCost,
  DEFAULT_LIST_SIZE,
  MAX_LIST_SIZE,
  operationCost,
} from '../../platform/operation-cost.js';
import { STANDARD_INTROSPECTION } from '../helpers/introspection.js';
import { projectPath } from '../../platform/paths.js';
import {
  checkSource,
  MAX_NESTING,
  readRequestLimits,
  subgraphLimits,
} from '../../platform/request-limits.js';
import { subgraphTypeDefs } from '../../platform/subgraph.js';
import { SUPERGRAPH_FILE } from '../../scripts/tools/supergraph.js';

// The composed supergraph: every type of the API and then some, so introspection is at its largest.
const api = buildSchema(readFileSync(projectPath(SUPERGRAPH_FILE), 'utf8'), {
  assumeValidSDL: true,
});
const feedSubgraph = buildSubgraphSchema([{ typeDefs: subgraphTypeDefs('feed') }]);
const gatewayLimits = readRequestLimits({});

function costOf(query: string, variables: Record<string, unknown> = {}, schema = api) {
  const document = parse(query);
  const operation = getOperationAST(document) as OperationDefinitionNode;
  return operationCost(schema, document, operation, variables);
}

function refusal(query: string, variables: Record<string, unknown> = {}, schema = api) {
  const document = parse(query);
  const operation = getOperationAST(document) as OperationDefinitionNode;
  return checkOperationCost(schema, document, operation, variables, gatewayLimits);
}

/** Every value of a JSON answer (objects, list items, leaves): what the cost estimates. */
function values(json: unknown): number {
  if (Array.isArray(json)) return json.reduce((sum: number, item) => sum + values(item), 0);
  if (json && typeof json === 'object')
    return Object.values(json).reduce((sum: number, item) => sum + 1 + values(item), 0);
  return 0;
}

test('the standard introspection query (every option tools set) passes, and costs about what its answer holds', async () => {
  assert.equal(refusal(STANDARD_INTROSPECTION), undefined);
  assert.equal(refusal(getIntrospectionQuery()), undefined);
  const cost = costOf(STANDARD_INTROSPECTION);
  const answer = await execute({ schema: api, document: parse(STANDARD_INTROSPECTION) });
  const actual = values(answer.data);
  assert.ok(
    cost.cost >= actual / 2 && cost.cost <= actual * 4,
    `estimated ${cost.cost} values, the answer has ${actual}`,
  );
  // `ofType` nests nine deep in it, and adds no depth.
  assert.ok(cost.depth <= 6, `depth ${cost.depth}`);
});

test('introspection is held to the limits like any other selection', () => {
  const full = STANDARD_INTROSPECTION.replace(
    /query IntrospectionQuery \{\s*__schema/,
    '{ a0: __schema',
  );
  const aliases = Array.from({ length: 50 }, (_, i) => `a${i}: __schema { ...Full }`).join(' ');
  const error = refusal(`{ ${aliases} } fragment Full on __Schema { types { ...FullType } }
    ${full.slice(full.indexOf('fragment FullType'))}`);
  assert.equal(error?.extensions.code, 'QUERY_TOO_COMPLEX');
  assert.equal((error?.extensions.http as { status: number }).status, 400);
  // A type graph walked through `fields { type { fields ... } }` multiplies at every level.
  let walk = 'name';
  for (let i = 0; i < 4; i++) walk = `fields { name type { ${walk} } }`;
  const aliased = (n: number) =>
    Array.from({ length: n }, (_, i) => `a${i}: __schema { types { ${walk} } }`).join(' ');
  assert.equal(refusal(`{ ${aliased(1)} }`), undefined);
  assert.match(refusal(`{ ${aliased(4)} }`)?.message ?? '', /may return about/);
  // An ofType chain adds no depth, but every level is a field.
  const chain = 'type { '.repeat(1) + 'ofType { '.repeat(1_200) + 'name' + ' }'.repeat(1_201);
  assert.match(
    refusal(`{ __type(name: "Post") { fields { ${chain} } } }`)?.message ?? '',
    /selects \d+ fields/,
  );
});

test('depth, aliases and fields are counted after fragment expansion', () => {
  const cost = costOf(`{ viewer { ...A ...A } } fragment A on User { x: id y: followerCount }`);
  assert.deepEqual(
    { depth: cost.depth, aliases: cost.aliases, fields: cost.fields },
    { depth: 2, aliases: 4, fields: 5 },
  );
  const aliases = Array.from({ length: 101 }, (_, i) => `a${i}: viewer { id }`).join(' ');
  assert.match(refusal(`{ ${aliases} }`)?.message ?? '', /has 101 aliases, more than 100/);
});

test('a fragment bomb is measured in linear time and refused', () => {
  const fragments = Array.from(
    { length: 40 },
    (_, i) =>
      `fragment F${i} on User { a: viewerFollows ...F${i + 1} b: followerCount ...F${i + 1} }`,
  ).join(' ');
  const started = performance.now();
  const cost = costOf(`{ viewer { ...F0 } } ${fragments.replace(/\.\.\.F40/g, 'id')}`);
  assert.ok(performance.now() - started < 500);
  assert.ok(cost.fields > 1e12, `fields ${cost.fields}`);
});

test('lists are weighted by their size argument, its default, or the documented default', () => {
  const page = (first: string) =>
    costOf(
      `query Q($n: Int) { user(id: "u") { posts(first: ${first}) { edges { node { id } } } } }`,
      {
        n: 50,
      },
    ).cost;
  // Each of the n edges costs itself, its node and the id: 3 values.
  assert.equal(page('5') - page('1'), 4 * 3);
  assert.equal(page('$n'), page('50'));
  // Past the largest page, the resolver's BAD_USER_INPUT is the answer, not a cost refusal.
  assert.equal(page('1000000'), page(String(MAX_LIST_SIZE)));
  const withDefault = costOf(`{ user(id: "u") { posts { edges { node { id } } } } }`).cost;
  assert.equal(withDefault, page('20'));
  // A list with no size argument: the post's media.
  const media = costOf(`{ post(id: "p") { media { url } } }`).cost;
  assert.equal(media, 1 + DEFAULT_LIST_SIZE * 2);
  const nested = refusal(
    `{ feed(first: 100) { edges { node { comments(first: 100) { edges { node { author { posts(first: 100) { edges { node { id } } } } } } } } } } }`,
  );
  assert.match(nested?.message ?? '', /may return about/);
});

test('a list asked for by a list of keys counts one item per key', () => {
  const counts = `query($ids: [ID!]!) { postCounts(postIds: $ids) { postId post { comments(first: 100) { edges { node { id body } } } } } }`;
  const ids = (n: number) => Array.from({ length: n }, (_, i) => `p${i}`);
  const one = costOf(counts, { ids: ids(1) }).cost;
  // The default list size (10) no longer stands in for the ids given: 1 id, 100 ids.
  assert.equal(costOf(counts, { ids: ids(100) }).cost, 100 * one);
  // What a subscription's push asks for one post costs what its admission measured per event.
  const pushed = costOf(
    `subscription($ids: [ID!]!) { postCountsChanged(postIds: $ids) { postId post { comments(first: 100) { edges { node { id body } } } } } }`,
    { ids: ids(1) },
  ).cost;
  assert.equal(one, pushed);
  // 100 ids with a heavy selection each are refused, as they were not with 10 assumed.
  assert.match(refusal(counts, { ids: ids(100) })?.message ?? '', /may return about/);
  assert.equal(refusal(counts, { ids: ids(5) }), undefined);
});

test('the query text is measured in bytes (comments included) and tokens, before it is parsed', () => {
  const padded = `# ${'x'.repeat(gatewayLimits.maxQueryBytes)}\n{ viewer { id } }`;
  assert.match(checkSource(padded, gatewayLimits)?.message ?? '', /bytes long/);
  const aliases = Array.from({ length: 2_000 }, (_, i) => `a${i}: __typename`).join(' ');
  const error = checkSource(`{ ${aliases} }`, gatewayLimits);
  assert.match(error?.message ?? '', /more than 5000 tokens/);
  assert.equal(error?.extensions.code, 'QUERY_TOO_COMPLEX');
  assert.equal(checkSource(STANDARD_INTROSPECTION, gatewayLimits), undefined);
  // Syntax errors are the parser's to report, with their location.
  assert.equal(checkSource('{ viewer { ', gatewayLimits), undefined);
});

test('a query text nesting past MAX_NESTING is refused before the parser recurses into it', () => {
  const lists = (levels: number) =>
    `{ postCounts(postIds: ${'['.repeat(levels)}"p"${']'.repeat(levels)}) { postId } }`;
  // 2,400 levels are under the token limit, and overflowed graphql-js's parser.
  const deep = lists(2_400);
  assert.ok(deep.length < gatewayLimits.maxTokens);
  assert.throws(() => parse(deep), /Maximum call stack size exceeded/);
  const error = checkSource(deep, gatewayLimits);
  assert.match(error?.message ?? '', new RegExp(`more than ${MAX_NESTING} deep`));
  assert.equal(error?.extensions.code, 'QUERY_TOO_COMPLEX');
  assert.equal(checkSource(lists(MAX_NESTING - 2), gatewayLimits), undefined);
  assert.match(checkSource(lists(MAX_NESTING), gatewayLimits)?.message ?? '', /deep/);
  // Deep selections and object values count alike; brackets in strings and comments do not.
  const objects = `{ a(x: ${'{a: '.repeat(200)}1${'}'.repeat(200)}) }`;
  assert.match(checkSource(objects, gatewayLimits)?.message ?? '', /deep/);
  const quoted = `{ viewer { id } } # ${'['.repeat(500)}\n query Q { a(s: "${'{'.repeat(500)}") }`;
  assert.equal(checkSource(quoted, gatewayLimits), undefined);
});

test('_entities batches are counted from their representations and capped in subgraphs', () => {
  const query = `query E($r: [_Any!]!) { _entities(representations: $r) { ... on Post { id caption } } }`;
  const representations = (n: number) =>
    Array.from({ length: n }, (_, i) => ({ __typename: 'Post', id: String(i) }));
  const limits = subgraphLimits(gatewayLimits);
  const check = (n: number) => {
    const document = parse(query);
    return checkOperationCost(
      feedSubgraph,
      document,
      getOperationAST(document) as OperationDefinitionNode,
      { r: representations(n) },
      limits,
    );
  };
  assert.equal(costOf(query, { r: representations(7) }, feedSubgraph).entities, 7);
  // A home-feed page of the largest size passes; a batch past the cap does not.
  assert.equal(check(100), undefined);
  assert.match(check(limits.maxEntities + 1)?.message ?? '', /entities at once/);
});

test('a document measured again is costed by the values of the variables its measure reads', () => {
  // One parsed document, as Apollo Server's document cache hands it to every request.
  const reused = (query: string, schema = api) => {
    const document = parse(query);
    const operation = getOperationAST(document) as OperationDefinitionNode;
    return (variables: Record<string, unknown>) =>
      operationCost(schema, document, operation, variables);
  };
  const pages = reused(
    `query Q($f: Int, $l: Int) { user(id: "u") { posts(first: $f, last: $l) { edges { node { id } } } } }`,
  );
  const fresh = (variables: Record<string, unknown>) =>
    costOf(
      `query Q($f: Int, $l: Int) { user(id: "u") { posts(first: $f, last: $l) { edges { node { id } } } } }`,
      variables,
    );
  // Each in turn, so that each is measured after another was kept.
  for (const variables of [{ f: 5 }, { f: 50 }, { f: 5, l: 90 }, { l: 90 }, { l: 7 }, { f: 50 }]) {
    assert.deepEqual(pages(variables), fresh(variables), JSON.stringify(variables));
  }
  assert.notEqual(pages({ f: 5 }).cost, pages({ f: 50 }).cost);

  const entities = reused(
    `query E($r: [_Any!]!) { _entities(representations: $r) { ... on Post { id } } }`,
    feedSubgraph,
  );
  const representations = (n: number) =>
    Array.from({ length: n }, (_, i) => ({ __typename: 'Post', id: String(i) }));
  assert.equal(entities({ r: representations(3) }).entities, 3);
  assert.equal(entities({ r: representations(40) }).entities, 40);
  assert.equal(entities({ r: representations(3) }).entities, 3);
  // The same document against another schema is measured against that one.
  const document = parse(`{ __schema { types { name } } }`);
  const operation = getOperationAST(document) as OperationDefinitionNode;
  assert.notEqual(
    operationCost(api, document, operation).cost,
    operationCost(feedSubgraph, document, operation).cost,
  );
});

test('subgraph limits leave room for what query planning adds', () => {
  const limits = subgraphLimits(gatewayLimits);
  assert.equal(limits.maxDepth, gatewayLimits.maxDepth + 2);
  assert.equal(limits.maxFields, gatewayLimits.maxFields * 2);
  assert.equal(limits.maxEntities, gatewayLimits.maxEntities);
  assert.throws(() => readRequestLimits({ MAX_QUERY_COST: 'lots' }), /MAX_QUERY_COST/);
});

test('a variable left out counts at its default in the operation, as execution takes it', () => {
  const query = `query Defaults($n: Int = 100, $m: Int = 100) {
    feed(first: $n) { edges { node { id comments(first: $m) { edges { node { id body } } } } } }
  }`;
  for (const variables of [{}, { n: 100 }, { m: 100 }, { n: 100, m: 100 }])
    assert.equal(
      refusal(query, variables)?.extensions.code,
      'QUERY_TOO_COMPLEX',
      JSON.stringify(variables),
    );
  // Given, a value replaces the default; null asks for the field's own default.
  assert.equal(refusal(query, { n: 2, m: 2 }), undefined);
  assert.equal(refusal(query, { n: null, m: null }), undefined);
});
