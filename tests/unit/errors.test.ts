import assert from 'node:assert/strict';
import { test } from 'node:test';
import { maskError } from '../../platform/errors.js';

test('internal errors are masked; client errors pass through without stack traces', () => {
  const internal = maskError({
    message: 'connection refused 10.0.0.3',
    path: ['post'],
    extensions: { code: 'INTERNAL_SERVER_ERROR', stacktrace: ['at x'] },
  });
  assert.deepEqual(internal, {
    message: 'Internal server error',
    path: ['post'],
    extensions: { code: 'INTERNAL_SERVER_ERROR' },
  });
  assert.equal(
    maskError({ message: 'TypeError: x is undefined' }).message,
    'Internal server error',
  );
  const client = maskError({
    message: 'nope',
    extensions: { code: 'FORBIDDEN', stacktrace: ['at y'] },
  });
  assert.deepEqual(client, { message: 'nope', extensions: { code: 'FORBIDDEN' } });
});
