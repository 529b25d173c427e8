import { writeFile } from 'node:fs/promises';
import { projectPath } from '../../platform/paths.js';
import { API_SCHEMA_FILE, composeFromConfig, SUPERGRAPH_FILE } from './supergraph.js';

const result = await composeFromConfig();
for (const hint of result.hints) console.error(`hint: ${hint}`);
if (!result.supergraphSdl || !result.apiSdl) {
  for (const error of result.errors) console.error(`error: ${error}`);
  process.exit(1);
}
await writeFile(projectPath(SUPERGRAPH_FILE), result.supergraphSdl + '\n');
await writeFile(projectPath(API_SCHEMA_FILE), result.apiSdl + '\n');
console.error(`wrote ${SUPERGRAPH_FILE} and ${API_SCHEMA_FILE}`);
