import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { buildSchema, type GraphQLObjectType } from 'graphql';
import { projectPath } from '../../platform/paths.js';
import {
  API_SCHEMA_FILE,
  composeFromConfig,
  SUPERGRAPH_FILE,
} from '../../scripts/tools/supergraph.js';

test('supergraph.yaml composes without errors', async () => {
  const result = await composeFromConfig();
  assert.deepEqual(result.errors, []);
  assert.ok(result.supergraphSdl);
});

test('the committed supergraph is exactly a fresh composition (run `npm run compose`)', async () => {
  const fresh = await composeFromConfig();
  const committed = await readFile(projectPath(SUPERGRAPH_FILE), 'utf8');
  assert.equal(committed, `${fresh.supergraphSdl}\n`);
});

test("the committed API schema is exactly the fresh composition's, with no federation definitions", async () => {
  const fresh = await composeFromConfig();
  const committed = await readFile(projectPath(API_SCHEMA_FILE), 'utf8');
  assert.equal(committed, `${fresh.apiSdl}\n`);
  assert.doesNotMatch(
    committed,
    /join__|link__|@link|_Entity|_Service|_entities|@key|inaccessible/,
  );
  const schema = buildSchema(committed);
  assert.ok(schema.getType('PostCounts'));
  assert.ok(schema.getSubscriptionType()?.getFields().postCountsChanged);
});

test('the supergraph serves every root field of the API contract', async () => {
  const sdl = await readFile(projectPath(SUPERGRAPH_FILE), 'utf8');
  const schema = buildSchema(sdl, { assumeValidSDL: true });
  const fields = (type: string) =>
    Object.keys((schema.getType(type) as GraphQLObjectType).getFields());
  for (const field of ['feed', 'post', 'user', 'viewer'])
    assert.ok(fields('Query').includes(field), field);
  for (const field of [
    'createPost',
    'updatePost',
    'deletePost',
    'followUser',
    'unfollowUser',
    'likePost',
    'unlikePost',
    'addComment',
    'editComment',
    'deleteComment',
  ]) {
    assert.ok(fields('Mutation').includes(field), field);
  }
  for (const field of [
    'id',
    'author',
    'caption',
    'media',
    'createdAt',
    'updatedAt',
    'likeCount',
    'viewerHasLiked',
    'likes',
    'commentCount',
    'comments',
  ]) {
    assert.ok(fields('Post').includes(field), `Post.${field}`);
  }
  for (const field of ['id', 'posts', 'followerCount', 'followingCount', 'viewerFollows']) {
    assert.ok(fields('User').includes(field), `User.${field}`);
  }
});
