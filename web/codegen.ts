import type { CodegenConfig } from '@graphql-codegen/cli';
import { addTypenameSelectionDocumentTransform } from '@graphql-codegen/client-preset';

/**
 * Types for every operation of the app from the public schema, and the manifest of those
 * operations by hash (`persisted-documents.json`), which the gateway loads as its trusted
 * documents. `__typename` is added to every selection, as Apollo Client's cache does, so the
 * document the gateway runs from the manifest answers what the cache expects.
 */
const config: CodegenConfig = {
  schema: '../schema/api.graphql',
  documents: ['src/**/*.{ts,tsx}', '!src/gql/**'],
  ignoreNoDocuments: false,
  generates: {
    'src/gql/': {
      preset: 'client',
      documentTransforms: [addTypenameSelectionDocumentTransform],
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        scalars: { DateTime: 'string' },
      },
      presetConfig: {
        fragmentMasking: false,
        persistedDocuments: {
          mode: 'embedHashInDocument',
          hashPropertyName: 'hash',
          hashAlgorithm: 'sha256',
        },
      },
    },
  },
};

export default config;
