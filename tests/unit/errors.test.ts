import assert from 'node:assert/strict';
import { test } from 'node:test';
import { maskErrors } from '../../platform/errors.js';

test('internal errors are masked and logged; client errors pass through', () => {
  const logged: unknown[] = [];
  const format = maskErrors((_formatted, error) => logged.push(error));
  const internal = format(
    {
      message: 'connection refused 10.0.0.3',
      path: ['post'],
      extensions: { code: 'INTERNAL_SERVER_ERROR', stacktrace: ['at x'] },
    },
    new Error('boom'),
  );
  assert.deepEqual(internal, {
    message: 'Internal server error',
    path: ['post'],
    extensions: { code: 'INTERNAL_SERVER_ERROR' },
  });
  const uncoded = format({ message: 'TypeError: x is undefined' }, new Error('x'));
  assert.equal(uncoded.message, 'Internal server error');
  assert.equal(logged.length, 2);
  const client = format(
    { message: 'nope', extensions: { code: 'FORBIDDEN', stacktrace: ['at y'] } },
    undefined,
  );
  assert.deepEqual(client, { message: 'nope', extensions: { code: 'FORBIDDEN' } });
});
