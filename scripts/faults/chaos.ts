import { parseArgs } from 'node:util';
import { ALL_TIERS, chaosTable, runChaos, type Tier } from './chaos-harness.js';

/**
 * `npm run chaos`: the long form of the fault suite (tests/e2e/chaos.test.ts runs a short one).
 * Prints one line per scenario as it goes, then the table the README shows.
 */
const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '50' },
    'pause-ms': { type: 'string', default: '1000' },
    'warm-ms': { type: 'string', default: '5000' },
    'down-ms': { type: 'string', default: '5000' },
    tiers: { type: 'string', default: ALL_TIERS.join(',') },
  },
});
const results = await runChaos({
  users: Number(values.users),
  pauseMs: Number(values['pause-ms']),
  warmMs: Number(values['warm-ms']),
  downMs: Number(values['down-ms']),
  tiers: values.tiers.split(',') as Tier[],
  log: (line) => console.error(`[chaos] ${line}`),
});
console.log(chaosTable(results));
const lost = results.some((r) => r.found !== r.acknowledged || !r.countsExact);
process.exit(lost ? 1 : 0);
