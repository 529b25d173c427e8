import { ALL_TIERS, chaosTable, runChaos, type Tier } from './chaos-harness.js';
import { numberOption, readOptions } from '../command-line.js';

/**
 * `npm run chaos`: the long form of the fault suite (tests/e2e/chaos.test.ts runs a short one).
 * Prints one line per scenario as it goes, then the table the README shows.
 */
const values = readOptions(
  'npm run chaos --',
  'Each tier killed with SIGKILL under a write load and brought back; per tier, the writes kept and the time to recover.',
  {
    users: { type: 'string', default: '50' },
    'pause-ms': { type: 'string', default: '1000' },
    'warm-ms': { type: 'string', default: '5000' },
    'down-ms': { type: 'string', default: '5000' },
    tiers: { type: 'string', default: ALL_TIERS.join(',') },
  },
);
const results = await runChaos({
  users: numberOption('users', values.users),
  pauseMs: numberOption('pause-ms', values['pause-ms']),
  warmMs: numberOption('warm-ms', values['warm-ms']),
  downMs: numberOption('down-ms', values['down-ms']),
  tiers: values.tiers.split(',') as Tier[],
  log: (line) => console.error(`[chaos] ${line}`),
});
console.log(chaosTable(results));
const lost = results.some((r) => r.found !== r.acknowledged || !r.countsExact);
process.exit(lost ? 1 : 0);
