import {
  ERRORS,
  isCompositeType,
  isCustomScalarType,
  isEnumType,
  isListType,
  isNonNullType,
  isObjectType,
  isSubtype,
  Variable,
  type CompositeType,
  type Operation,
  type Schema,
  type SelectionSet,
  type Type,
} from '@apollo/federation-internals';
import type { GraphQLError } from 'graphql';

type Data = Record<string, unknown>;
/** What `@skip` and `@include` are read from, on a field or a fragment. */
interface AppliedDirective {
  readonly definition?: unknown;
  arguments(): { if?: unknown };
}
type Variables = Record<string, unknown>;
type ResponsePath = (string | number)[];

/**
 * A value's type, resolved once: `@apollo/gateway`'s result shaping asks the schema for the same
 * facts (is it non-null, which types satisfy a fragment, is this leaf valid) at every value of
 * every response.
 */
type ShapeType =
  | { kind: 'nonNull'; of: ShapeType; described: string }
  | { kind: 'list'; of: ShapeType }
  | { kind: 'composite'; name: string }
  | { kind: 'leaf'; name: string; valid: (value: unknown) => boolean };

type Step =
  | {
      kind: 'typename';
      responseName: string;
      skip?: (variables: Variables) => boolean;
    }
  | {
      kind: 'field';
      responseName: string;
      type: ShapeType;
      selection?: Step[];
      skip?: (variables: Variables) => boolean;
    }
  | {
      kind: 'fragment';
      /** Names of the types the fragment applies to; absent when it has no type condition. */
      appliesTo?: ReadonlySet<string>;
      /** The parent type inside the fragment; absent when it keeps the enclosing one. */
      typeCondition?: string;
      selection: Step[];
      skip?: (variables: Variables) => boolean;
    };

interface TypeNames {
  all: ReadonlySet<string>;
  objects: ReadonlySet<string>;
  composites: ReadonlySet<string>;
}

/** What one shaping run collects; `invalid` and `hasErrors` describe the value just completed. */
interface Run {
  variables: Variables;
  types: TypeNames;
  errors: GraphQLError[];
  invalid: boolean;
  hasErrors: boolean;
}

export interface ShapedResult {
  data: Data | null;
  errors: GraphQLError[];
}

/** Shapes the merged subgraph answers of one request into the response its operation asked for. */
export type ResultShape = (input: Data, variables: Variables | undefined) => ShapedResult;

/**
 * The same algorithm as `@apollo/gateway`'s `computeResponse` (field order, aliases, `@skip` and
 * `@include`, `__typename`, null propagation with the same `INVALID_GRAPHQL` errors and paths),
 * with every schema lookup done here, once per operation, rather than per value. Undefined for an
 * operation that selects schema introspection, which stays with `@apollo/gateway`.
 */
export function compileResultShape(operation: Operation): ResultShape | undefined {
  const schema = operation.schema();
  const compiler = new ShapeCompiler(schema);
  const root = compiler.selection(operation.selectionSet);
  if (!root) return undefined;
  const rootType = schema.schemaDefinition.rootType(operation.rootKind);
  if (!rootType) return undefined;
  const rootName = rootType.name;
  const defaults = operation.collectDefaultedVariableValues();
  const { types } = compiler;
  return (input, variables) => {
    const run: Run = {
      variables: { __proto__: null, ...defaults, ...variables } as Variables,
      errors: [],
      types,
      invalid: false,
      hasErrors: false,
    };
    const data: Data = Object.create(null);
    const bubbled = applySelection(root, input, data, run, [], rootName);
    return { data: bubbled ? null : data, errors: run.errors };
  };
}

class ShapeCompiler {
  readonly types = {
    all: new Set<string>(),
    objects: new Set<string>(),
    composites: new Set<string>(),
  };
  private readonly subtypes = new Map<string, ReadonlySet<string>>();

  constructor(private readonly schema: Schema) {
    for (const type of schema.types()) {
      this.types.all.add(type.name);
      if (isObjectType(type)) this.types.objects.add(type.name);
      if (isCompositeType(type)) this.types.composites.add(type.name);
    }
  }

  /** Undefined when the selection holds an introspection field. */
  selection(set: SelectionSet): Step[] | undefined {
    const steps: Step[] = [];
    for (const selection of set.selections()) {
      const skip = this.skipOf(selection.element.appliedDirectives);
      if (selection.kind === 'FieldSelection') {
        const field = selection.element;
        if (field.definition.isSchemaIntrospectionField()) return undefined;
        const responseName = field.responseName();
        if (field.name === '__typename') {
          steps.push({ kind: 'typename', responseName, skip });
          continue;
        }
        let nested: Step[] | undefined;
        if (selection.selectionSet) {
          nested = this.selection(selection.selectionSet);
          if (!nested) return undefined;
        }
        steps.push({
          kind: 'field',
          responseName,
          type: this.typeOf(field.definition.type as Type),
          selection: nested,
          skip,
        });
      } else {
        const nested = this.selection(selection.selectionSet);
        if (!nested) return undefined;
        const condition = selection.element.typeCondition;
        steps.push({
          kind: 'fragment',
          appliesTo: condition ? this.subtypesOf(condition) : undefined,
          typeCondition: condition?.name,
          selection: nested,
          skip,
        });
      }
    }
    return steps;
  }

  private subtypesOf(condition: CompositeType): ReadonlySet<string> {
    let names = this.subtypes.get(condition.name);
    if (!names) {
      const found = new Set<string>();
      for (const type of this.schema.types()) {
        if (isCompositeType(type) && isSubtype(condition, type)) found.add(type.name);
      }
      names = found;
      this.subtypes.set(condition.name, names);
    }
    return names;
  }

  private typeOf(type: Type): ShapeType {
    if (isNonNullType(type)) {
      return { kind: 'nonNull', of: this.typeOf(type.ofType), described: String(type.ofType) };
    }
    if (isListType(type)) return { kind: 'list', of: this.typeOf(type.ofType) };
    if (isCompositeType(type)) return { kind: 'composite', name: type.name };
    return { kind: 'leaf', name: String(type), valid: this.leafCheck(type) };
  }

  /** `isValidLeafValue` of federation-internals, decided per type up front. */
  private leafCheck(type: Type): (value: unknown) => boolean {
    const schema = this.schema;
    if (isCustomScalarType(type)) return () => true;
    if (isEnumType(type)) {
      const values = new Set(type.values.map((value) => value.name));
      return (value) => typeof value === 'string' && values.has(value);
    }
    const integral = type === schema.intType() || type === schema.idType();
    const float = type === schema.floatType();
    const boolean = type === schema.booleanType();
    const stringy = !boolean && type !== schema.intType() && !float;
    return (value) => {
      if (typeof value === 'boolean') return boolean;
      if (typeof value === 'number' && Number.isFinite(value)) {
        return integral ? /^-?(?:0|[1-9][0-9]*)$/.test(String(value)) : float;
      }
      if (typeof value === 'string') return stringy;
      return false;
    };
  }

  private skipOf(
    directives: readonly AppliedDirective[],
  ): ((variables: Variables) => boolean) | undefined {
    const skipDirective = this.schema.skipDirective();
    const includeDirective = this.schema.includeDirective();
    let skipIf: unknown;
    let includeIf: unknown;
    for (const directive of directives) {
      const args = directive.arguments();
      if (directive.definition === skipDirective && skipIf === undefined) skipIf = args.if;
      if (directive.definition === includeDirective && includeIf === undefined) includeIf = args.if;
    }
    if (skipIf === undefined && includeIf === undefined) return undefined;
    const valueOf = (condition: unknown) =>
      condition instanceof Variable
        ? (variables: Variables) => variables[condition.name] === true
        : () => condition === true;
    const skip = skipIf === undefined ? () => false : valueOf(skipIf);
    const include = includeIf === undefined ? () => true : valueOf(includeIf);
    return (variables) => skip(variables) || !include(variables);
  }
}

const own = (object: Data, key: string): unknown =>
  Object.prototype.hasOwnProperty.call(object, key) ? object[key] : undefined;

/** True when a non-null violation bubbles up to the enclosing object. */
function applySelection(
  steps: Step[],
  input: Data,
  output: Data,
  run: Run,
  path: ResponsePath,
  parentType: string,
): boolean {
  for (const step of steps) {
    if (step.skip?.(run.variables)) continue;
    if (step.kind === 'typename') {
      if (output[step.responseName] !== undefined) continue;
      let value = own(input, step.responseName) ?? null;
      if (value === null && step.responseName !== '__typename') value = input.__typename ?? null;
      const name = typeof value === 'string' && run.types.all.has(value) ? value : parentType;
      if (!run.types.objects.has(name)) return true;
      output[step.responseName] = name;
    } else if (step.kind === 'field') {
      path.push(step.responseName);
      const updated = complete(
        output[step.responseName],
        step.type,
        own(input, step.responseName) ?? null,
        step.selection,
        path,
        run,
        parentType,
      );
      output[step.responseName] = updated;
      path.pop();
      if (run.invalid) return true;
    } else {
      const typename = input.__typename;
      if (typename && typeof typename !== 'string') {
        throw new Error(`Got unexpected value for __typename: ${String(typename)}`);
      }
      const applies =
        !step.appliesTo || step.appliesTo.has((typename as string | undefined) || parentType);
      if (!applies) continue;
      const bubbled = applySelection(
        step.selection,
        input,
        output,
        run,
        path,
        step.typeCondition ?? parentType,
      );
      if (bubbled) return true;
    }
  }
  return false;
}

function described(path: ResponsePath, type: string, parentType: string): string {
  const last = path[path.length - 1];
  return typeof last === 'string'
    ? `field ${parentType}.${last}`
    : `array element of type ${type} at index ${String(last)}`;
}

/** A value a subgraph answered that the schema does not allow where it is. */
function invalidValue(run: Run, path: ResponsePath, message: string): void {
  run.errors.push(ERRORS.INVALID_GRAPHQL.err(message, { path: Array.from(path) }));
}

function done(run: Run, invalid: boolean, hasErrors: boolean): void {
  run.invalid = invalid;
  run.hasErrors = hasErrors;
}

/** `updateOutputValue` of `computeResponse`; reports through `run.invalid` and `run.hasErrors`. */
function complete(
  outputValue: unknown,
  type: ShapeType,
  inputValue: unknown,
  selection: Step[] | undefined,
  path: ResponsePath,
  run: Run,
  parentType: string,
): unknown {
  if (outputValue === null || (outputValue !== undefined && !selection)) {
    done(run, false, false);
    return outputValue;
  }
  switch (type.kind) {
    case 'nonNull': {
      const updated = complete(outputValue, type.of, inputValue, selection, path, run, parentType);
      if (updated === null) {
        if (!run.hasErrors) {
          invalidValue(
            run,
            path,
            `Cannot return null for non-nullable ${described(path, type.described, parentType)}.`,
          );
        }
        done(run, true, true);
        return updated;
      }
      done(run, false, false);
      return updated;
    }
    case 'list': {
      if (inputValue === null) {
        done(run, false, false);
        return null;
      }
      if (!Array.isArray(inputValue)) {
        throw new Error(`Invalid non-list value ${String(inputValue)} returned by subgraph`);
      }
      const existing = outputValue as unknown[] | undefined;
      if (existing !== undefined && existing.length !== inputValue.length) {
        throw new Error(`[${inputValue.length}] !== [${existing.length}]`);
      }
      const updated: unknown[] = new Array(inputValue.length);
      let nullify = false;
      let hasErrors = false;
      for (let index = 0; index < inputValue.length; index++) {
        path.push(index);
        updated[index] = complete(
          existing?.[index],
          type.of,
          inputValue[index] as unknown,
          selection,
          path,
          run,
          parentType,
        );
        path.pop();
        nullify ||= run.invalid;
        hasErrors ||= run.hasErrors;
      }
      done(run, false, hasErrors);
      return nullify ? null : updated;
    }
    case 'composite': {
      if (inputValue === null) {
        done(run, false, false);
        return null;
      }
      if (typeof inputValue !== 'object' || !selection) {
        throw new Error(`Invalid non-object value returned by subgraph for ${type.name}`);
      }
      const input = inputValue as Data;
      const typename = input.__typename;
      let objectType = type.name;
      if (typename !== undefined) {
        if (typeof typename !== 'string') {
          throw new Error(`Invalid non-string value for __typename at ${path.join('.')}`);
        }
        if (typename) {
          if (!run.types.composites.has(typename)) {
            invalidValue(
              run,
              path,
              `Invalid __typename found for object at ${described(path, type.name, parentType)}.`,
            );
            done(run, false, true);
            return null;
          }
          objectType = typename;
        }
      }
      const output = (outputValue ?? Object.create(null)) as Data;
      const bubbled = applySelection(selection, input, output, run, path, objectType);
      done(run, false, bubbled);
      return bubbled ? null : output;
    }
    case 'leaf': {
      if (inputValue === null) {
        done(run, false, false);
        return null;
      }
      const valid = type.valid(inputValue);
      if (!valid) {
        invalidValue(
          run,
          path,
          `Invalid value found for ${described(path, type.name, parentType)}.`,
        );
      }
      done(run, false, !valid);
      return valid ? inputValue : null;
    }
  }
}
