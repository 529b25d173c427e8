import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { projectPath } from '../../platform/paths.js';

/**
 * The web app's generated types and trusted-documents manifest are committed (the gateway loads
 * the manifest; the app compiles against the types): they must be exactly what codegen makes from
 * schema/api.graphql and the app's operations today, which also proves every operation valid.
 */
test('web/src/gql is what `npm run web:codegen` writes (no stale file)', async () => {
  const run = promisify(execFile);
  const { stdout, stderr } = await run(
    projectPath('node_modules/.bin/graphql-codegen'),
    ['--config', 'codegen.ts', '--check'],
    { cwd: projectPath('web'), env: { ...process.env, CI: 'true' } },
  ).catch((error: { stdout?: string; stderr?: string; message: string }) => {
    assert.fail(`codegen --check failed: ${error.stdout ?? ''}${error.stderr ?? error.message}`);
  });
  assert.doesNotMatch(`${stdout}${stderr}`, /stale files/);
});
