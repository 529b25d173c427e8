import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { projectPath } from '../../platform/paths.js';

/**
 * The scripts' options as a user meets them: `--help` answers before anything starts, and a
 * mistyped option or a number that is not one gets a one-line reason and the usage, not a stack
 * trace and not a run with NaN.
 */
const run = async (script: string, args: string[]) => {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [projectPath(`dist/scripts/${script}.js`), ...args],
      { timeout: 20_000 },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const { code, stdout, stderr } = error as { code: number; stdout: string; stderr: string };
    return { code, stdout, stderr };
  }
};

const SCRIPTS = [
  'bench/bench',
  'bench/bench-live',
  'bench/bench-pages',
  'bench/bench-notifications',
  'bench/bench-durability',
  'faults/chaos',
];

for (const script of SCRIPTS) {
  test(`${script} --help lists its options and starts nothing`, async () => {
    const { code, stdout, stderr } = await run(script, ['--help']);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^Usage: npm run \S+ -- \[options\]/);
    assert.match(stdout, /--\S+ <value> \(default \S+\)/);
    assert.equal(stderr, '', 'no service was started');
  });
}

test('an unknown option is named, with the usage and no stack trace', async () => {
  const { code, stdout, stderr } = await run('bench/bench', ['--secnds', '5']);
  assert.equal(code, 2);
  assert.equal(stdout, '');
  assert.match(stderr, /Unknown option '--secnds'/);
  assert.match(stderr, /--seconds <value> \(default 10\)/);
  assert.doesNotMatch(stderr, /\n\s+at /);
});

test('a number option that is not a number is refused before anything starts', async () => {
  const { code, stderr } = await run('bench/bench-pages', ['--likes', 'many']);
  assert.equal(code, 2);
  assert.equal(stderr, '--likes must be a number, not "many"\n');
});

test('npm run token -- --help prints its usage instead of a token for the user "--help"', async () => {
  const { code, stdout, stderr } = await run('tools/token', ['--help']);
  assert.equal(code, 0);
  assert.equal(stdout, '');
  assert.match(stderr, /^usage: npm run token -- <userId>/);
});
