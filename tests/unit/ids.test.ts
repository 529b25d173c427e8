import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  isEntityId,
  LOGICAL_SHARDS,
  newId,
  shardOfId,
  shardOfUser,
  timeOfId,
} from '../../platform/ids.js';

test('an id carries its logical shard and creation time', () => {
  const now = Date.UTC(2026, 10, 22, 18, 0, 0);
  const id = newId(4095, now);
  assert.ok(isEntityId(id));
  assert.equal(shardOfId(id), 4095);
  assert.equal(timeOfId(id).getTime(), now);
});

test('ids sort by creation time', () => {
  const older = newId(7, 1_000_000);
  const newer = newId(3, 1_000_001);
  assert.ok(older < newer);
});

test('ids of the same millisecond and shard differ', () => {
  const ids = new Set(Array.from({ length: 10_000 }, () => newId(1, 5)));
  assert.equal(ids.size, 10_000);
});

test('out-of-range shards and malformed ids are refused', () => {
  assert.throws(() => newId(LOGICAL_SHARDS));
  assert.throws(() => newId(-1));
  assert.throws(() => shardOfId('nope'));
  assert.equal(isEntityId('0'.repeat(24)), false);
  assert.equal(isEntityId('G'.repeat(25)), false);
});

test('user shards are stable and spread over every logical shard range', () => {
  assert.equal(shardOfUser('alice'), shardOfUser('alice'));
  const shards = new Set(Array.from({ length: 20_000 }, (_, i) => shardOfUser(`user-${i}`)));
  assert.ok(shards.size > LOGICAL_SHARDS * 0.95, `only ${shards.size} shards used`);
});
