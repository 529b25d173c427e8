import type { ApolloServerPlugin } from '@apollo/server';
import { Lexer, Source, TokenKind, type GraphQLError, type GraphQLFormattedError } from 'graphql';
import { int, readEnv } from './env.js';
import { checkOperationCost, tooComplex, type OperationLimits } from './operation-cost.js';

/** Every limit a GraphQL request is held to, from its text to its answer. */
export interface RequestLimits extends OperationLimits {
  /** Most lexical tokens in the query text (comments are not tokens). */
  maxTokens: number;
  /** Longest query text, in bytes (comments count: they cost memory too). */
  maxQueryBytes: number;
  /**
   * Largest answer sent, on every transport: an HTTP answer, a WebSocket query's `next`, each
   * deferred part and each subscription event; past it, a QUERY_TOO_COMPLEX error is sent instead.
   */
  maxResponseBytes: number;
}

/**
 * The limits of the environment (`MAX_QUERY_*`, `MAX_RESPONSE_BYTES`, `MAX_ENTITIES`), as the
 * gateway applies them. One set of variables configures every service: subgraphs apply them with
 * headroom (`subgraphLimits`).
 */
export function readRequestLimits(
  source: Record<string, string | undefined> = process.env,
): RequestLimits {
  const env = readEnv(
    {
      MAX_QUERY_DEPTH: int(12, 2, 100),
      MAX_QUERY_ALIASES: int(100, 0, 10_000),
      MAX_QUERY_FIELDS: int(1_000, 10, 100_000),
      MAX_QUERY_COST: int(20_000, 10, 10_000_000),
      MAX_QUERY_TOKENS: int(5_000, 100, 1_000_000),
      MAX_QUERY_BYTES: int(50_000, 1_000, 10_000_000),
      MAX_RESPONSE_BYTES: int(5_000_000, 10_000, 1_000_000_000),
      MAX_ENTITIES: int(2_000, 1, 1_000_000),
    },
    source,
  );
  return {
    maxDepth: env.MAX_QUERY_DEPTH,
    maxAliases: env.MAX_QUERY_ALIASES,
    maxFields: env.MAX_QUERY_FIELDS,
    maxCost: env.MAX_QUERY_COST,
    maxTokens: env.MAX_QUERY_TOKENS,
    maxQueryBytes: env.MAX_QUERY_BYTES,
    maxResponseBytes: env.MAX_RESPONSE_BYTES,
    maxEntities: env.MAX_ENTITIES,
  };
}

/**
 * A subgraph's limits for the gateway's: what query planning adds to a client's operation (the
 * `_entities` level, key fields and `__typename` in each fetch) must pass, so a subgraph allows
 * two more levels and twice the counts. Requests sent to a subgraph directly are held to these
 * too, which is the point: the gateway is not the only way in.
 */
export function subgraphLimits(limits: RequestLimits): RequestLimits {
  return {
    ...limits,
    maxDepth: limits.maxDepth + 2,
    maxAliases: limits.maxAliases * 2,
    maxFields: limits.maxFields * 2,
    maxCost: limits.maxCost * 2,
    maxTokens: limits.maxTokens * 2,
    maxQueryBytes: limits.maxQueryBytes * 2,
  };
}

/**
 * How deep braces, brackets and parentheses may nest in a query text. graphql-js parses each level
 * by recursion: 2,400 nested list brackets, within the token limit, overflowed its stack, and the
 * client read "Maximum call stack size exceeded". No real operation comes near this; the depth
 * limit on selections (`maxDepth`) is checked later, on the parsed document.
 */
export const MAX_NESTING = 128;

const OPENERS = new Set([TokenKind.BRACE_L, TokenKind.BRACKET_L, TokenKind.PAREN_L]);
const CLOSERS = new Set([TokenKind.BRACE_R, TokenKind.BRACKET_R, TokenKind.PAREN_R]);

/** Whether `source` holds more opening characters than `MAX_NESTING`, strings and comments alike. */
function mayNestTooDeep(source: string): boolean {
  let opening = 0;
  for (let i = 0; i < source.length; i++) {
    const c = source.charCodeAt(i);
    if ((c === 123 || c === 91 || c === 40) && ++opening > MAX_NESTING) return true;
  }
  return false;
}

/**
 * QUERY_TOO_COMPLEX for a query text past the byte or token limit, or nesting past
 * `MAX_NESTING`, else undefined. Reads tokens only up to the limit, so a huge document costs no
 * more than a legal one; comments are skipped by the lexer, hence the byte limit. A short text
 * with few opening characters cannot break either limit and is not lexed at all.
 */
export function checkSource(
  source: string,
  limits: Pick<RequestLimits, 'maxQueryBytes' | 'maxTokens'>,
): GraphQLError | undefined {
  const bytes = Buffer.byteLength(source);
  if (bytes > limits.maxQueryBytes)
    return tooComplex(`The query is ${bytes} bytes long, more than ${limits.maxQueryBytes}`);
  // Every token takes at least one character: a text this short cannot have too many.
  if (source.length <= limits.maxTokens && !mayNestTooDeep(source)) return undefined;
  const lexer = new Lexer(new Source(source));
  let depth = 0;
  try {
    for (let tokens = 0; ; tokens++) {
      const { kind } = lexer.advance();
      if (kind === TokenKind.EOF) break;
      if (tokens >= limits.maxTokens)
        return tooComplex(`The query has more than ${limits.maxTokens} tokens`);
      if (OPENERS.has(kind) && ++depth > MAX_NESTING) {
        return tooComplex(
          `The query nests braces, brackets and parentheses more than ${MAX_NESTING} deep`,
        );
      }
      if (CLOSERS.has(kind)) depth--;
    }
  } catch {
    // A syntax error: the parser reports it, with its location.
  }
  return undefined;
}

/** An answer past `maxResponseBytes`: its size, and the error to send in its place. */
export interface OversizedAnswer {
  bytes: number;
  error: GraphQLFormattedError;
}

/**
 * The one check of an answer's size, for every transport that sends one (HTTP, a WebSocket
 * query, a deferred part, a subscription event): undefined when `json` fits in `maxBytes`, else
 * the QUERY_TOO_COMPLEX error to send instead, already formatted (the answer it replaces was).
 */
export function checkResponseSize(json: string, maxBytes: number): OversizedAnswer | undefined {
  // A UTF-16 code unit is at most 3 UTF-8 bytes: most answers need no count.
  if (json.length * 3 <= maxBytes) return undefined;
  const bytes = Buffer.byteLength(json);
  if (bytes <= maxBytes) return undefined;
  return {
    bytes,
    error: {
      message: `The response would be ${bytes} bytes, more than ${maxBytes}: ask for fewer or smaller pages`,
      extensions: { code: 'QUERY_TOO_COMPLEX' },
    },
  };
}

/**
 * Refuses an operation past `limits` once it is parsed and validated, before any field runs (and,
 * for an automatic persisted query, before it is registered). The text itself is checked earlier,
 * by each transport (`checkSource`): Apollo Server turns any error thrown before parsing into a 500.
 */
export function operationLimits(limits: OperationLimits): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ schema, document, operation, request }) {
          if (!operation) return;
          const error = checkOperationCost(schema, document, operation, request.variables, limits);
          if (error) throw error;
        },
      };
    },
  };
}
