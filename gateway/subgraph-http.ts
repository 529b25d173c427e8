import { Agent, request } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { REQUEST_ID_HEADER } from '../platform/http.js';

/** A subgraph's answer, its body read whole. */
export interface SubgraphResponse {
  ok: boolean;
  status: number;
  statusText: string;
  url: string;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
  json(): Promise<unknown>;
}

interface SubgraphRequestInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
}

/**
 * The gateway's client to its subgraphs: node:http on keep-alive agents (most recently used
 * socket first, so a quiet spell leaves few connections open), the body read whole as one string.
 * Node's global fetch costs several times more CPU per call (WHATWG streams, Request and
 * Response objects, an abort signal per call): a third of the gateway's CPU under the bench.
 * A subgraph that does not answer within `timeoutMs` fails its fetch.
 *
 * Identical query fetches in flight at once (same URL, body and headers, apart from the ones that
 * only label a request) share one subgraph request and its answer, as Apollo Router and Grafbase
 * do by default; mutations always go out on their own. The subgraph then logs only the first
 * request id of the group.
 */
export function subgraphFetcher(timeoutMs: number) {
  const agents = {
    'http:': new Agent({ keepAlive: true, scheduling: 'lifo' }),
    'https:': new HttpsAgent({ keepAlive: true, scheduling: 'lifo' }),
  };

  // A source calls one URL: parsed once, not per fetch.
  const targets = new Map<string, { secure: boolean; host: string; port: string; path: string }>();
  const targetOf = (url: string) => {
    let target = targets.get(url);
    if (!target) {
      const parsed = new URL(url);
      target = {
        secure: parsed.protocol === 'https:',
        host: parsed.hostname,
        port: parsed.port,
        path: parsed.pathname + parsed.search,
      };
      targets.set(url, target);
    }
    return target;
  };

  const inFlight = new Map<string, Promise<SubgraphResponse>>();

  function fetchSubgraph(url: string, init: SubgraphRequestInit = {}): Promise<SubgraphResponse> {
    const key = sharingKey(url, init);
    if (key === undefined) return send(url, init);
    const pending = inFlight.get(key);
    if (pending) return pending;
    const sent = send(url, init).finally(() => inFlight.delete(key));
    inFlight.set(key, sent);
    return sent;
  }

  function send(url: string, init: SubgraphRequestInit): Promise<SubgraphResponse> {
    const { secure, host, port, path } = targetOf(url);
    const body = init.body ?? '';
    return new Promise((resolve, reject) => {
      const req = (secure ? httpsRequest : request)(
        {
          host,
          port,
          path,
          method: init.method ?? 'POST',
          agent: secure ? agents['https:'] : agents['http:'],
          headers: { ...init.headers, 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () => {
            clearTimeout(deadline);
            const text =
              chunks.length === 1
                ? (chunks[0] as Buffer).toString('utf8')
                : Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            resolve({
              ok: status >= 200 && status < 300,
              status,
              statusText: res.statusMessage ?? '',
              url,
              headers: {
                get(name) {
                  const value = res.headers[name.toLowerCase()];
                  return value === undefined
                    ? null
                    : Array.isArray(value)
                      ? value.join(', ')
                      : value;
                },
              },
              text: async () => text,
              json: async () => JSON.parse(text),
            });
          });
        },
      );
      const deadline = setTimeout(
        () => req.destroy(new Error(`subgraph did not answer within ${timeoutMs} ms: ${url}`)),
        timeoutMs,
      );
      req.on('error', (error) => {
        clearTimeout(deadline);
        reject(error);
      });
      req.end(body);
    });
  }

  return fetchSubgraph;
}

/** Headers that label a request (for logs and traces) without changing its answer. */
const LABEL_HEADERS = new Set([REQUEST_ID_HEADER, 'traceparent', 'tracestate', 'baggage']);

/**
 * What makes two fetches the same request, or undefined for one that must not be shared: only a
 * query can be (the gateway sends its operation first: `{"query":"query …` or `{"query":"{…`).
 */
function sharingKey(url: string, init: SubgraphRequestInit): string | undefined {
  const body = init.body;
  if (!body?.startsWith('{"query":"query') && !body?.startsWith('{"query":"{')) return undefined;
  let key = url;
  for (const [name, value] of Object.entries(init.headers ?? {})) {
    if (!LABEL_HEADERS.has(name.toLowerCase())) key += `\n${name}:${value}`;
  }
  return `${key}\n\n${body}`;
}
