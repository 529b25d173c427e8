import { getIntrospectionQuery } from 'graphql';

/** The introspection query of schema tools with every option GraphQL Code Generator sets. */
export const STANDARD_INTROSPECTION = getIntrospectionQuery({
  descriptions: true,
  specifiedByUrl: true,
  directiveIsRepeatable: true,
  schemaDescription: true,
  inputValueDeprecation: true,
  oneOf: true,
});
