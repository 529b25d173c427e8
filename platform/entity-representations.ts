import {
  Kind,
  isUnionType,
  type DocumentNode,
  type GraphQLFieldResolver,
  type GraphQLSchema,
} from 'graphql';
import { badInput } from './errors.js';

/** Each entity type's keys, each key its field names: `@key(fields: "id")` gives `[["id"]]`. */
function keysOf(typeDefs: DocumentNode): Map<string, string[][]> {
  const keys = new Map<string, string[][]>();
  for (const definition of typeDefs.definitions) {
    if (
      definition.kind !== Kind.OBJECT_TYPE_DEFINITION &&
      definition.kind !== Kind.OBJECT_TYPE_EXTENSION
    ) {
      continue;
    }
    for (const directive of definition.directives ?? []) {
      if (directive.name.value !== 'key') continue;
      const fields = directive.arguments?.find((argument) => argument.name.value === 'fields');
      if (fields?.value.kind !== Kind.STRING) continue;
      const list = keys.get(definition.name.value) ?? [];
      list.push(fields.value.value.trim().split(/\s+/));
      keys.set(definition.name.value, list);
    }
  }
  return keys;
}

/**
 * Holds `_entities` to representations this subgraph can resolve: an object naming one of its
 * entity types, giving every field of one of that type's keys, each key field given as a string
 * (every key here is a plain id or name). Anything else, a representation being whatever a caller sends, is
 * `BAD_USER_INPUT` before any resolver sees it: past this, a missing `__typename` or an object
 * for an id was an internal error with its stack in the log, and an id of arrays nested 100,000
 * deep overflowed the stack of the code that turned it into text.
 */
export function guardEntityRepresentations(schema: GraphQLSchema, typeDefs: DocumentNode): void {
  const field = schema.getQueryType()?.getFields()._entities;
  const union = schema.getType('_Entity');
  if (!field || !isUnionType(union)) return;
  const entityTypes = new Set(union.getTypes().map((type) => type.name));
  const keys = keysOf(typeDefs);
  const resolve = field.resolve as GraphQLFieldResolver<unknown, unknown>;

  const check = (representation: unknown, index: number) => {
    const at = `representations[${index}]`;
    if (
      typeof representation !== 'object' ||
      representation === null ||
      Array.isArray(representation)
    ) {
      throw badInput(`${at} is not an object`);
    }
    const { __typename: typename } = representation as { __typename?: unknown };
    if (typeof typename !== 'string') throw badInput(`${at} has no __typename`);
    if (!entityTypes.has(typename)) {
      throw badInput(`${at} names ${JSON.stringify(typename.slice(0, 100))}, not an entity here`);
    }
    const fields = representation as Record<string, unknown>;
    const typeKeys = keys.get(typename) ?? [];
    // Every key field given is text, not only those of one complete key: a resolver may read
    // any of them (a User found by id may be checked against its username).
    for (const name of new Set(typeKeys.flat())) {
      if (Object.hasOwn(fields, name) && typeof fields[name] !== 'string') {
        throw badInput(`${at} gives ${typename}.${name} as something other than text`);
      }
    }
    if (!typeKeys.some((key) => key.every((name) => Object.hasOwn(fields, name)))) {
      throw badInput(`${at} does not give a key of ${typename}`);
    }
  };

  field.resolve = (source, args: { representations?: unknown }, context, info) => {
    const { representations } = args;
    if (Array.isArray(representations)) representations.forEach(check);
    return resolve(source, args, context, info);
  };
}
