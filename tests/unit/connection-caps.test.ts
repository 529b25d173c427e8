import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConnectionCaps } from '../../gateway/subscriptions/connection-caps.js';

test('caps count connections per user and per address, each counted out once', () => {
  const caps = new ConnectionCaps({ maxPerUser: 2, maxPerIp: 3 });
  const first = caps.holdUser('ann');
  caps.holdUser('ann');
  assert.match(caps.userRefusal('ann') ?? '', /At most 2 streaming connections .* per user/);
  assert.equal(caps.userRefusal('bob'), undefined, 'another user is counted apart');
  first();
  first(); // a second release of the same connection changes nothing
  assert.equal(caps.userRefusal('ann'), undefined);
  caps.holdUser('ann');
  assert.ok(caps.userRefusal('ann'));

  const releases = [caps.holdIp('10.0.0.1'), caps.holdIp('10.0.0.1'), caps.holdIp('10.0.0.1')];
  assert.match(caps.ipRefusal('10.0.0.1') ?? '', /At most 3 .* per address/);
  assert.equal(caps.ipRefusal('10.0.0.2'), undefined);
  for (const release of releases) release();
  assert.equal(caps.ipRefusal('10.0.0.1'), undefined);
});
