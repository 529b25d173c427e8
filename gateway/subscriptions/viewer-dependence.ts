import {
  buildSchema,
  getNamedType,
  isObjectType,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type GraphQLSchema,
} from 'graphql';

export const VIEWER_DEPENDENT = 'viewerDependent';
export const VIEWER_INDEPENDENT = 'viewerIndependent';

type Mark = typeof VIEWER_DEPENDENT | typeof VIEWER_INDEPENDENT;

/** The mark of a node's own directives: dependent wins when both are there (composed types). */
function markOf(node: { directives?: readonly { name: { value: string } }[] } | null | undefined) {
  const names = new Set((node?.directives ?? []).map((directive) => directive.name.value));
  if (names.has(VIEWER_DEPENDENT)) return VIEWER_DEPENDENT;
  if (names.has(VIEWER_INDEPENDENT)) return VIEWER_INDEPENDENT;
  return undefined;
}

/**
 * Fields whose value is known to be the same whoever asks, as `Type.field`, from the SDL's marks
 * (`@viewerDependent`, `@viewerIndependent`, composed into the supergraph): a field's own mark,
 * else its type's. A field with neither is not known to be public.
 */
function viewerIndependentFields(schema: GraphQLSchema): Set<string> {
  const independent = new Set<string>();
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    const typeMarks = [type.astNode, ...(type.extensionASTNodes ?? [])].map(markOf);
    const typeMark: Mark | undefined = typeMarks.includes(VIEWER_DEPENDENT)
      ? VIEWER_DEPENDENT
      : typeMarks.find((mark) => mark !== undefined);
    for (const field of Object.values(type.getFields())) {
      if ((markOf(field.astNode) ?? typeMark) === VIEWER_INDEPENDENT)
        independent.add(`${type.name}.${field.name}`);
    }
  }
  return independent;
}

/**
 * Whether a document may select something that depends on who asks, judged from the supergraph
 * SDL: true unless every field it selects is known to be viewer-independent. A result is shared
 * across subscribers only when this is false.
 */
export function viewerDependence(supergraphSdl: string): (document: DocumentNode) => boolean {
  const schema = buildSchema(supergraphSdl, { assumeValidSDL: true });
  const independent = viewerIndependentFields(schema);
  return (document) => {
    const typeInfo = new TypeInfo(schema);
    let dependent = false;
    visit(
      document,
      visitWithTypeInfo(typeInfo, {
        Field(node) {
          if (node.name.value === '__typename') return;
          const parent = typeInfo.getParentType();
          const parentName = parent && getNamedType(parent).name;
          if (!parentName || !independent.has(`${parentName}.${node.name.value}`)) dependent = true;
        },
      }),
    );
    return dependent;
  };
}
