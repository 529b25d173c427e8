import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { Kind, parse, type ObjectTypeDefinitionNode } from 'graphql';
import { parse as parseYaml } from 'yaml';
import { projectPath } from '../../platform/paths.js';
import { SUPERGRAPH_FILE } from '../../scripts/tools/supergraph.js';
import {
  VIEWER_DEPENDENT,
  VIEWER_INDEPENDENT,
  viewerDependence,
} from '../../gateway/subscriptions/viewer-dependence.js';

const marked = (node: { directives?: readonly { name: { value: string } }[] }) =>
  (node.directives ?? []).some((directive) =>
    [VIEWER_DEPENDENT, VIEWER_INDEPENDENT].includes(directive.name.value),
  );

test('every field of every subgraph SDL says whether it depends on the viewer, itself or by its type', async () => {
  const config = parseYaml(await readFile(projectPath('supergraph.yaml'), 'utf8')) as {
    subgraphs: Record<string, { schema: { file: string } }>;
  };
  const unmarked: string[] = [];
  for (const [name, subgraph] of Object.entries(config.subgraphs)) {
    const document = parse(await readFile(projectPath(subgraph.schema.file), 'utf8'));
    const types = document.definitions.filter(
      (definition): definition is ObjectTypeDefinitionNode =>
        definition.kind === Kind.OBJECT_TYPE_DEFINITION ||
        definition.kind === Kind.OBJECT_TYPE_EXTENSION,
    );
    assert.ok(types.length > 0, name);
    for (const type of types) {
      if (marked(type)) continue;
      for (const field of type.fields ?? []) {
        if (!marked(field)) unmarked.push(`${name}: ${type.name.value}.${field.name.value}`);
      }
    }
  }
  assert.deepEqual(
    unmarked,
    [],
    'mark each with @viewerDependent or @viewerIndependent (or its type)',
  );
});

test('a follow-up is shared only when every field it selects is known to be viewer-independent', async () => {
  const dependsOnViewer = viewerDependence(await readFile(projectPath(SUPERGRAPH_FILE), 'utf8'));
  const query = (text: string) => dependsOnViewer(parse(text));
  assert.equal(
    query(
      'query($ids: [ID!]!) { counts: postCounts(postIds: $ids) { post { caption likeCount author { id username followerCount } comments { edges { node { body } } } } } }',
    ),
    false,
  );
  assert.equal(
    query('query($id: ID!) { comment(id: $id) { __typename id body post { caption } } }'),
    false,
  );
  // Marked fields, whatever their name.
  assert.equal(
    query('query($ids: [ID!]!) { postCounts(postIds: $ids) { post { viewerHasLiked } } }'),
    true,
  );
  assert.equal(query('query($id: ID!) { comment(id: $id) { author { viewerFollows } } }'), true);
  assert.equal(query('{ feed { edges { node { id } } } }'), true);
  assert.equal(query('{ viewer { id } }'), true);
  // Through a fragment, and a field the supergraph does not know: not known to be public.
  assert.equal(
    query(
      'query($id: ID!) { comment(id: $id) { post { ...P } } } fragment P on Post { author { viewerFollows } }',
    ),
    true,
  );
  assert.equal(query('query($id: ID!) { comment(id: $id) { unknownField } }'), true);
});

test('a field without a mark is not known to be public', () => {
  const dependsOnViewer = viewerDependence(`
    directive @viewerIndependent on OBJECT | FIELD_DEFINITION
    directive @viewerDependent on OBJECT | FIELD_DEFINITION
    type Query { a: A @viewerIndependent b: A }
    type A { marked: Int @viewerIndependent unmarked: Int }
  `);
  assert.equal(dependsOnViewer(parse('{ a { marked } }')), false);
  assert.equal(dependsOnViewer(parse('{ a { unmarked } }')), true);
  assert.equal(dependsOnViewer(parse('{ b { marked } }')), true);
});
