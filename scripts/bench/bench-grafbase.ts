import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { projectPath } from '../../platform/paths.js';
import { startServiceProcess, type ServiceProcess } from '../stack/processes.js';

/**
 * Peer (d) of `npm run bench`: Grafbase, a federation gateway written in Rust, as the static binary
 * of `@grafbase/cli-x86_64-unknown-linux-musl` (a dev dependency; no download, no install script).
 * `grafbase dev` composes the subgraphs' own SDL files with this run's URLs, forwards the caller's
 * Authorization header, and has in-flight de-duplication switched off: the other gateways
 * de-duplicate nothing, so it would measure a different workload. Measurement only.
 */
export const GRAFBASE_BINARY = join(
  dirname(
    createRequire(import.meta.url).resolve('@grafbase/cli-x86_64-unknown-linux-musl/package.json'),
  ),
  'grafbase',
);

export async function startGrafbase(options: {
  host: string;
  port: number;
  /** Routing URL per subgraph name of supergraph.yaml (feed, likes, comments). */
  subgraphUrls: Record<string, string>;
  env: NodeJS.ProcessEnv;
}): Promise<ServiceProcess> {
  // Its working directory: it keeps a cache folder there.
  const dir = projectPath('.data/bench/grafbase');
  await mkdir(dir, { recursive: true });
  const subgraphs = Object.entries(options.subgraphUrls).map(
    ([name, url]) =>
      `[subgraphs.${name}]\nurl = "${url}"\nschema_path = "${projectPath(`schema/${name}.graphql`)}"\n`,
  );
  const config = join(dir, 'grafbase.toml');
  await writeFile(
    config,
    [
      ...subgraphs,
      '[[headers]]\nrule = "forward"\nname = "authorization"\n',
      '[traffic_shaping]\ninflight_deduplication = false\n',
    ].join('\n'),
  );
  return startServiceProcess({
    name: 'grafbase',
    executable: {
      file: GRAFBASE_BINARY,
      args: ['dev', '-c', config, '--listen-address', `${options.host}:${options.port}`],
      cwd: dir,
    },
    env: options.env,
    logsToStderr: true,
    readyUrl: `http://${options.host}:${options.port}/graphql`,
    readyInit: {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __typename }' }),
    },
  });
}
