import { GraphQLError, Kind, type ASTVisitor, type ValidationContext } from 'graphql';

/**
 * Validation of `@defer(label:)`, as the incremental delivery proposal has it (and graphql-js 17
 * does): a label is a literal string, and no two `@defer` of one document share one. A label
 * names its part in the answer, so a variable (which the planner read as its own syntax tree)
 * or a label used twice (two parts merged into one) would give a client parts it cannot tell apart.
 */
export function deferLabels(context: ValidationContext): ASTVisitor {
  const seen = new Set<string>();
  return {
    Directive(directive) {
      if (directive.name.value !== 'defer') return;
      const label = directive.arguments?.find((argument) => argument.name.value === 'label');
      if (!label) return;
      if (label.value.kind !== Kind.STRING) {
        context.reportError(
          new GraphQLError('The label of @defer must be a literal string, not a variable', {
            nodes: label,
          }),
        );
        return;
      }
      if (seen.has(label.value.value)) {
        context.reportError(
          new GraphQLError(`The @defer label "${label.value.value}" is used more than once`, {
            nodes: label,
          }),
        );
      }
      seen.add(label.value.value);
    },
  };
}
