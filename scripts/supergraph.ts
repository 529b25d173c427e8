import { readFile } from 'node:fs/promises';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { parse as parseYaml } from 'yaml';
import { projectPath } from '../platform/paths.js';

export const SUPERGRAPH_FILE = 'schema/supergraph.graphql';

interface RoverConfig {
  federation_version?: string;
  subgraphs: Record<string, { routing_url: string; schema: { file: string } }>;
}

export interface CompositionResult {
  supergraphSdl: string | undefined;
  errors: string[];
  hints: string[];
}

/** Composes the subgraphs that `supergraph.yaml` names, exactly as rover would read them. */
export async function composeFromConfig(
  configFile = 'supergraph.yaml',
): Promise<CompositionResult> {
  const config = parseYaml(await readFile(projectPath(configFile), 'utf8')) as RoverConfig;
  const services = await Promise.all(
    Object.entries(config.subgraphs).map(async ([name, subgraph]) => ({
      name,
      url: subgraph.routing_url,
      typeDefs: parse(await readFile(projectPath(subgraph.schema.file), 'utf8')),
    })),
  );
  const result = composeServices(services);
  return {
    supergraphSdl: result.errors ? undefined : result.supergraphSdl,
    errors: (result.errors ?? []).map((error) => error.message),
    hints: (result.hints ?? []).map((hint) => hint.toString()),
  };
}
