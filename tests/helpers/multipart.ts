/**
 * A subscription over HTTP with Apollo's multipart protocol, as a raw `fetch` (for what Apollo
 * Client hides: heartbeats, status codes, the stream's end). `token` absent: anonymous.
 */
export function multipartSubscribe(
  url: string,
  token: string | undefined,
  query: string,
  variables: Record<string, unknown> = {},
  signal?: AbortSignal,
): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'multipart/mixed;subscriptionSpec="1.0", application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    signal,
    body: JSON.stringify({ query, variables }),
  });
}
