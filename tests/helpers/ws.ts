import { setTimeout as delay } from 'node:timers/promises';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

export interface Received<T = any> {
  /** Every `next` payload, in arrival order. */
  results: { data?: T; errors?: { message: string; extensions?: { code?: string } }[] }[];
  /** The errors the server answered the subscription with, if it refused it. */
  errors: { message: string; extensions?: { code?: string } }[] | undefined;
  completed: boolean;
  stop(): void;
}

export interface WsClient {
  client: Client;
  subscribe<T = any>(query: string, variables?: Record<string, unknown>): Received<T>;
  close(): Promise<void>;
}

/** A graphql-ws client for the gateway, signed in with `token`, that never retries. */
export function wsClient(httpUrl: string, token: string): WsClient {
  const client = createClient({
    url: httpUrl.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
    lazy: true,
  });
  return {
    client,
    subscribe(query, variables) {
      const received: Received = {
        results: [],
        errors: undefined,
        completed: false,
        stop: () => undefined,
      };
      received.stop = client.subscribe(
        { query, variables },
        {
          next: (value) => received.results.push(value as Received['results'][number]),
          error: (error) => {
            received.errors = Array.isArray(error) ? error : [{ message: String(error) }];
          },
          complete: () => {
            received.completed = true;
          },
        },
      );
      return received;
    },
    close: () => client.dispose() as Promise<void>,
  };
}

/**
 * Polls `check` until it returns true, or fails after `timeoutMs`; `nudge`, when given, runs
 * every 200 ms meanwhile (to send another event until one gets through, say).
 */
export async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  nudge?: () => Promise<void>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let nextNudge = 0;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    if (nudge && Date.now() >= nextNudge) {
      nextNudge = Date.now() + 200;
      await nudge();
    }
    await delay(20);
  }
}

/** Opens a raw graphql-transport-ws socket, sends `connection_init` and resolves with the close code. */
export function closeCodeFor(
  httpUrl: string,
  payload: Record<string, unknown> | undefined,
  timeoutMs = 10_000,
) {
  return new Promise<{ code: number; acked: boolean }>((resolve, reject) => {
    const socket = new WebSocket(httpUrl.replace(/^http/, 'ws'), 'graphql-transport-ws');
    let acked = false;
    const timer = setTimeout(() => reject(new Error('socket not closed in time')), timeoutMs);
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload })));
    socket.on('message', (data) => {
      if (JSON.parse(String(data)).type === 'connection_ack') acked = true;
    });
    socket.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, acked });
    });
    socket.on('error', () => undefined);
  });
}
