import { readFile } from 'node:fs/promises';
import { composeServices } from '@apollo/composition';
import { lexicographicSortSchema, parse, printSchema } from 'graphql';
import { parse as parseYaml } from 'yaml';
import { projectPath } from '../../platform/paths.js';

export const SUPERGRAPH_FILE = 'schema/supergraph.graphql';
/** The schema clients see, for codegen and mobile toolchains: no federation definitions. */
export const API_SCHEMA_FILE = 'schema/api.graphql';

interface RoverConfig {
  federation_version?: string;
  subgraphs: Record<string, { routing_url: string; schema: { file: string } }>;
}

export interface CompositionResult {
  supergraphSdl: string | undefined;
  /** The API schema as SDL, types in alphabetical order so that the file diffs well. */
  apiSdl: string | undefined;
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
    apiSdl: result.errors
      ? undefined
      : printSchema(lexicographicSortSchema(result.schema.toAPISchema().toGraphQLJSSchema())),
    errors: (result.errors ?? []).map((error) => error.message),
    hints: (result.hints ?? []).map((hint) => hint.toString()),
  };
}
