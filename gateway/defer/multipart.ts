import { checkResponseSize } from '../../platform/request-limits.js';

/**
 * Incremental delivery over HTTP as Apollo Client and Apollo Router speak it
 * (`multipart/mixed; deferSpec=20220824`): each part is a JSON object, the first `{ data,
 * hasNext: true }`, the next ones `{ incremental: [{ data, path }], hasNext }`, and the body ends
 * with the closing delimiter once `hasNext` is false. Each part is written whole, delimiter
 * included, so a client can act on it before the next one exists.
 */
export const DEFERRED_CONTENT_TYPE = 'multipart/mixed; boundary="graphql"; deferSpec=20220824';

const PART_HEADERS = 'content-type: application/json; charset=utf-8\r\n\r\n';

/**
 * True when the `accept` header takes `multipart/mixed` in the 2022-08-24 defer format, or with
 * no format named (the only one served); false for any other spec (subscriptions, newer drafts)
 * and for `q=0`.
 */
export function acceptsDeferredParts(accept: string | null | undefined): boolean {
  if (!accept) return false;
  return accept.split(',').some((range) => {
    const [type, ...parameters] = range.split(';').map((part) => part.trim().toLowerCase());
    if (type !== 'multipart/mixed') return false;
    const values = new Map(
      parameters.map((parameter) => {
        const [name = '', value = ''] = parameter.split('=').map((part) => part.trim());
        return [name, value.replace(/^"(.*)"$/, '$1')];
      }),
    );
    if (values.get('q') !== undefined && Number(values.get('q')) === 0) return false;
    const specs = [...values.keys()].filter((name) => name.endsWith('spec'));
    return specs.length === 0 || (specs.length === 1 && values.get('deferspec') === '20220824');
  });
}

/** A part after the first, as much of it as the framing needs. */
interface LaterPart {
  hasNext: boolean;
  incremental?: { path: readonly (string | number)[]; label?: string }[];
}

/**
 * The response body: `first` as the first part, then each of `rest` as it arrives. A later part
 * past `maxBytes` (`MAX_RESPONSE_BYTES`) is replaced by its items with `data: null` and the
 * QUERY_TOO_COMPLEX error, and ends the body: later parts may lie inside data never sent. (The
 * first part is checked before this body is chosen: an oversized one is answered as plain JSON.)
 */
export async function* multipartBody(
  first: string,
  rest: AsyncIterable<LaterPart>,
  maxBytes: number,
  onOversized: (bytes: number) => void,
): AsyncGenerator<string> {
  yield `\r\n--graphql\r\n${PART_HEADERS}${first}\r\n--graphql\r\n`;
  for await (const part of rest) {
    const json = JSON.stringify(part);
    const oversized = checkResponseSize(json, maxBytes);
    if (oversized) {
      onOversized(oversized.bytes);
      const items = part.incremental ?? [{ path: [] }];
      const replaced = {
        incremental: items.map(({ path, label }) => ({
          data: null,
          path,
          ...(label !== undefined && { label }),
          errors: [oversized.error],
        })),
        hasNext: false,
      };
      // Leaving the loop returns `rest`, which stops the deferred work still running.
      yield `${PART_HEADERS}${JSON.stringify(replaced)}\r\n--graphql--\r\n`;
      return;
    }
    yield `${PART_HEADERS}${json}\r\n--graphql${part.hasNext ? '' : '--'}\r\n`;
  }
}
