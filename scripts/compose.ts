import { writeFile } from 'node:fs/promises';
import { projectPath } from '../platform/paths.js';
import { composeFromConfig, SUPERGRAPH_FILE } from './supergraph.js';

const result = await composeFromConfig();
for (const hint of result.hints) console.error(`hint: ${hint}`);
if (!result.supergraphSdl) {
  for (const error of result.errors) console.error(`error: ${error}`);
  process.exit(1);
}
await writeFile(projectPath(SUPERGRAPH_FILE), result.supergraphSdl + '\n');
console.error(`wrote ${SUPERGRAPH_FILE}`);
