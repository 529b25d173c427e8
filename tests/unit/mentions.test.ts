import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_MENTIONS, mentionedUsernames } from '../../platform/mentions.js';

test('mentions: lower-cased, without duplicates, not inside words or e-mail addresses', () => {
  assert.deepEqual(
    mentionedUsernames('Hi @Bob and @bob, @carol.smith. mail me at dave@example.com (@erin_1)'),
    ['bob', 'carol.smith', 'erin_1'],
  );
  assert.deepEqual(mentionedUsernames(null), []);
  assert.deepEqual(mentionedUsernames('@@x @ y'), []);
});

test(`at most ${MAX_MENTIONS} mentions per text`, () => {
  const text = Array.from({ length: 30 }, (_, i) => `@user${i}`).join(' ');
  assert.equal(mentionedUsernames(text).length, MAX_MENTIONS);
});
