import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError } from 'graphql';

/** Characters as a person counts them: an emoji is one, not two UTF-16 code units. */
export function characterCount(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

/**
 * What prints nothing, beside the white space `trim` removes: control and format characters (a
 * zero-width space, joiners, a byte-order mark, a soft hyphen), combining marks with nothing to
 * mark (a combining grapheme joiner, variation selectors) and the letters and symbols drawn blank
 * (the Hangul fillers, the blank braille pattern).
 */
const INVISIBLE = /^[\s\p{Cc}\p{Cf}\p{M}\u115F\u1160\u3164\uFFA0\u2800]*$/u;

/** Whether `text` shows anything. */
export function hasVisibleCharacter(text: string): boolean {
  return !INVISIBLE.test(text);
}

/** In a `u` pattern a surrogate pair is one code point: only a surrogate alone matches. */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Whether `value` holds, anywhere, a string that is not well-formed UTF-16 (a lone surrogate, as
 * JSON's `"\ud800"` gives). Such text cannot be stored or sent as UTF-8 as it is: stored, it comes
 * back with U+FFFD in its place, different from what the write answered. Walked without
 * recursion, so a value nested 100,000 deep costs a loop, not the stack.
 */
export function holdsIllFormedText(value: unknown): boolean {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const next = pending.pop();
    if (typeof next === 'string') {
      if (LONE_SURROGATE.test(next)) return true;
    } else if (typeof next === 'object' && next !== null) {
      for (const [key, inner] of Object.entries(next)) {
        if (LONE_SURROGATE.test(key)) return true;
        pending.push(inner);
      }
    }
  }
  return false;
}

/**
 * Refuses, with BAD_USER_INPUT, variables holding text that is not well-formed UTF-16, before
 * anything runs: in the gateway for every transport (HTTP, WebSocket, multipart), and in each
 * subgraph for a caller that reaches it directly.
 */
export function wellFormedVariables(): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ request }) {
          if (request.variables && holdsIllFormedText(request.variables)) {
            throw new GraphQLError(
              'The variables hold text that is not valid Unicode (a lone surrogate)',
              { extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } } },
            );
          }
        },
      };
    },
  };
}
