import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ApolloServer } from '@apollo/server';
import {
  GraphQLError,
  parse,
  type ExecutionResult,
  type GraphQLFormattedError,
  type GraphQLSchema,
} from 'graphql';
import type { SubscribePayload } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import type { TokenVerifier, Viewer } from '../../platform/auth.js';
import { badInput } from '../../platform/errors.js';
import type { Logger } from '../../platform/logger.js';
import type { Metrics } from '../../platform/metrics.js';
import {
  checkResponseSize,
  checkSource,
  type RequestLimits,
} from '../../platform/request-limits.js';
import type { GatewayContext } from '../context.js';
import { AsyncQueue } from './async-queue.js';
import type { LiveSubscriptions } from './live-subscriptions.js';
import type { ConnectionCaps } from './connection-caps.js';
import { NextFrames } from './next-frames.js';
import type { AcceptedSubscription } from './root-event-source.js';
import type { SlowReaders } from './slow-readers.js';
import type { SubscriptionTransport } from './subscription-transport.js';
import { onTokenExpiry } from './token-expiry.js';

/** The WebSocket close code for a missing, bad or expired token (graphql-ws's Unauthorized). */
const CLOSE_UNAUTHORIZED = 4401;
/** Policy violation: the user already holds as many sockets as allowed. */
const CLOSE_TOO_MANY_SOCKETS = 1008;
/**
 * Try Again Later: the client stopped reading and too much waits for it. It cannot keep up (a
 * frozen tab, a bad link) rather than breaking a rule (1008), and graphql-ws clients reconnect
 * and resubscribe after 1013, where after 1008 they give up.
 */
const CLOSE_SLOW_READER = 1013;

export interface WebSocketLimits extends Pick<
  RequestLimits,
  'maxQueryBytes' | 'maxTokens' | 'maxResponseBytes'
> {
  /** Largest message accepted, in bytes (the HTTP body limit): a larger one closes the socket. */
  maxMessageBytes: number;
  maxSubscriptionsPerSocket: number;
}

export interface WebSocketTransportOptions {
  httpServer: Server;
  path: string;
  /** The supergraph's API schema, as the gateway last loaded it. */
  schema: () => GraphQLSchema | undefined;
  /** Every operation goes through the gateway's one request pipeline. */
  apollo: ApolloServer<GatewayContext>;
  live: LiveSubscriptions;
  /** Sockets per user and per address, shared with the other streaming transport. */
  caps: ConnectionCaps;
  auth: TokenVerifier;
  metrics: Metrics;
  logger: Logger;
  limits: WebSocketLimits;
  /** The bound on a socket's unsent bytes, shared with the other streaming transport. */
  slowReaders: SlowReaders;
  /**
   * Trusted documents: may fill in a hash-only operation's text, or refuse an operation the apps
   * do not ship. HTTP does the same before Apollo parses anything.
   */
  admit?: (payload: SubscribePayload) => Promise<GraphQLError | undefined>;
}

interface Connection {
  /** Counts this socket out of its user's cap. */
  release: () => void;
  viewer: Viewer;
  authorization: string;
  ip: string;
  active: number;
  stopExpiry: () => void;
}

/** A result the pipeline already formatted and masked, sent by graphql-ws as it is. */
class FormattedError extends GraphQLError {
  constructor(private readonly formatted: GraphQLFormattedError) {
    super(formatted.message);
  }
  override toJSON(): GraphQLFormattedError {
    return this.formatted;
  }
}

/** One operation on a socket; a subscription the pipeline accepted waits here for graphql-ws. */
class SocketOperation implements SubscriptionTransport {
  accepted: AcceptedSubscription | undefined;
  constructor(
    private readonly connection: Connection,
    private readonly maxPerSocket: number,
  ) {}
  open(subscription: AcceptedSubscription): GraphQLError | undefined {
    if (this.connection.active >= this.maxPerSocket)
      return badInput(`At most ${this.maxPerSocket} subscriptions per connection`);
    this.connection.active++;
    this.accepted = subscription;
    return undefined;
  }
  /** The subscription ended: its slot on the socket is free again. */
  release(): void {
    this.connection.active--;
  }
}

const INTERNAL_ERROR = {
  errors: [{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }],
} as unknown as ExecutionResult;

// graphql-ws picks `execute` or `subscribe` by the operation type of the document it is handed:
// every operation already ran (or was accepted) in the request pipeline, and its messages come
// from the iterator `subscribe` returns.
const SUBSCRIPTION = parse('subscription { __typename }');

/**
 * The iterator for a query or mutation's answer, already serialized: its frame goes out when
 * graphql-ws first asks (so not after the client completed the operation), then graphql-ws
 * sends `complete`, which ws queues behind the frame on the same socket.
 */
function answered(frames: NextFrames, json: string): AsyncIterableIterator<ExecutionResult> {
  const done = { done: true, value: undefined } as const;
  let sent = false;
  return {
    next() {
      if (!sent) frames.send(json);
      sent = true;
      return Promise.resolve(done);
    },
    return: () => Promise.resolve(done),
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

/**
 * A message over `maxPayload` is the client's fault: ws closes the socket with 1009 by itself,
 * then emits an error that graphql-ws would print as "Internal error emitted on a WebSocket
 * socket" on every such message. That error is dropped here, and only that one.
 */
function quietSizeViolations(ws: WebSocket): void {
  const emit = ws.emit.bind(ws);
  ws.emit = ((event: string | symbol, ...args: unknown[]) =>
    event === 'error' &&
    (args[0] as { code?: unknown } | undefined)?.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH'
      ? true
      : emit(event, ...args)) as WebSocket['emit'];
}

/**
 * Routes every message graphql-ws sends on `ws` (acks, query answers, errors, completes) through
 * `writable`: one that may not be written is dropped, and its callback told it went, as graphql-ws
 * does itself for a socket that is no longer open.
 */
function sendOnlyWhile(ws: WebSocket, writable: () => boolean): void {
  const send = ws.send.bind(ws);
  ws.send = ((...args: Parameters<WebSocket['send']>) => {
    if (writable()) return send(...args);
    const done = args.find((arg) => typeof arg === 'function') as (() => void) | undefined;
    if (done) process.nextTick(done);
  }) as WebSocket['send'];
}

export interface WebSocketTransport {
  close(): Promise<void>;
}

/**
 * graphql-ws on the gateway's own port and path. The socket is authenticated once, at
 * `connection_init`; every operation on it (query, mutation, subscription) then runs through the
 * gateway's request pipeline (`executeOperation`), so its errors come back as that operation's
 * messages. The socket closes only for protocol, size or authentication reasons, when a cap on
 * sockets is reached, or when its client stops reading (1013, `STREAM_MAX_BUFFERED_BYTES`).
 */
export function startWebSocketTransport(options: WebSocketTransportOptions): WebSocketTransport {
  const { apollo, live, metrics, limits, caps, logger, slowReaders } = options;
  const connections = new WeakMap<WebSocket, Connection>();
  /** Each WebSocket's upgraded TCP socket, which `NextFrames` writes pre-built frames to. */
  const rawSockets = new WeakMap<WebSocket, Duplex>();
  const slowReaderReason = `Slow reader: more than ${slowReaders.maxBufferedBytes} bytes unsent`;

  /**
   * Whether anything more may be queued on `ws`: not once it is closing, nor once its client has
   * left more than the bound unread. Then it is closed with 1013; the close frame waits behind the
   * backlog, and ws destroys the socket if the client has not read it within its closing timeout.
   */
  const writable = (ws: WebSocket): boolean => {
    if (ws.readyState !== ws.OPEN) return false;
    const connection = connections.get(ws);
    const who = { ip: connection?.ip ?? 'unknown', user: connection?.viewer.id };
    if (!slowReaders.fellBehind('websocket', ws.bufferedAmount, who)) return true;
    ws.close(CLOSE_SLOW_READER, slowReaderReason);
    return false;
  };

  const wss = new WebSocketServer({ noServer: true, maxPayload: limits.maxMessageBytes });
  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (new URL(request.url ?? '/', 'http://localhost').pathname !== options.path) {
      socket.destroy();
      return;
    }
    const ip = request.socket.remoteAddress ?? 'unknown';
    const refusal = caps.ipRefusal(ip);
    if (refusal) {
      const body = JSON.stringify({
        errors: [{ message: refusal, extensions: { code: 'RATE_LIMITED' } }],
      });
      socket.end(
        `HTTP/1.1 429 Too Many Requests\r\nconnection: close\r\ncontent-type: application/json\r\n` +
          `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      rawSockets.set(ws, socket);
      sendOnlyWhile(ws, () => writable(ws));
      ws.once('close', caps.holdIp(ip));
      quietSizeViolations(ws);
      wss.emit('connection', ws, request);
    });
  };
  options.httpServer.on('upgrade', onUpgrade);

  const disposable = useServer<
    Record<string, unknown> | undefined,
    { socket: WebSocket; request: IncomingMessage }
  >(
    {
      schema: () => options.schema() as GraphQLSchema,
      async onConnect(ctx) {
        const socket = ctx.extra.socket;
        const header = ctx.connectionParams?.authorization;
        const viewer = await options.auth
          .fromHeader(typeof header === 'string' ? header : undefined)
          .catch(() => null);
        if (!viewer) {
          socket.close(CLOSE_UNAUTHORIZED, 'Unauthorized');
          return false;
        }
        const refusal = caps.userRefusal(viewer.id);
        if (refusal) {
          socket.close(CLOSE_TOO_MANY_SOCKETS, refusal);
          return false;
        }
        const connection: Connection = {
          release: caps.holdUser(viewer.id),
          viewer,
          authorization: header as string,
          ip: ctx.extra.request.socket.remoteAddress ?? 'unknown',
          active: 0,
          stopExpiry: onTokenExpiry(viewer, () =>
            socket.close(CLOSE_UNAUTHORIZED, 'Token expired'),
          ),
        };
        connections.set(socket, connection);
        metrics.websockets.inc();
        return true;
      },
      onClose(ctx) {
        const connection = connections.get(ctx.extra.socket);
        if (!connection) return;
        connections.delete(ctx.extra.socket);
        connection.stopExpiry();
        connection.release();
        metrics.websockets.dec();
      },
      async onSubscribe(ctx, id, payload) {
        const connection = connections.get(ctx.extra.socket) as Connection;
        // As over HTTP, before Apollo parses: Apollo turns an error thrown earlier into a 500.
        const refused =
          (await options.admit?.(payload)) ??
          (payload.query ? checkSource(payload.query, limits) : undefined);
        if (refused) {
          // `extensions.http` sets the status of an HTTP answer, and means nothing on a socket.
          const { http: _http, ...extensions } = refused.extensions;
          return [new FormattedError({ message: refused.message, extensions })];
        }
        const operation = new SocketOperation(connection, limits.maxSubscriptionsPerSocket);
        const contextValue: GatewayContext = {
          viewer: connection.viewer,
          requestId: randomUUID(),
          ip: connection.ip,
          authorization: connection.authorization,
          subscriptionTransport: operation,
          // A request parameter beside `query`, as in an HTTP body (graphql-ws passes it along).
          requestedOnError: (payload as { onError?: unknown }).onError,
        };
        const response = await apollo.executeOperation(
          {
            // graphql-ws requires a query string: a persisted query's hash comes with an empty one.
            query: payload.query || undefined,
            operationName: payload.operationName ?? undefined,
            variables: payload.variables ?? undefined,
            extensions: payload.extensions ?? undefined,
          },
          { contextValue },
        );
        const schema = options.schema() as GraphQLSchema;
        const socket = ctx.extra.socket;
        const frames = new NextFrames(socket, rawSockets.get(socket), id, () => writable(socket));
        if (operation.accepted) {
          return {
            schema,
            document: SUBSCRIPTION,
            contextValue: () => stream(operation, (json) => frames.send(json)),
          };
        }
        const result =
          response.body.kind === 'single'
            ? response.body.singleResult
            : response.body.initialResult;
        // Refused before execution (parse, validation, limits, budget): the operation's error
        // message. Executed: its result, errors and all, then complete.
        if (result.data === undefined && result.errors?.length)
          return result.errors.map((error) => new FormattedError(error));
        // Serialized once, for the size check and the frame alike (graphql-ws would again). Held
        // to the answer size limit as over HTTP: the error in place of the answer, then
        // `complete`; the socket stays open for the next operation.
        const json = JSON.stringify(result);
        const oversized = checkResponseSize(json, limits.maxResponseBytes);
        if (oversized) {
          logger.warn(
            { requestId: contextValue.requestId, bytes: oversized.bytes },
            'response over the size limit (WebSocket)',
          );
        }
        const answer = oversized ? JSON.stringify({ data: null, errors: [oversized.error] }) : json;
        return { schema, document: SUBSCRIPTION, contextValue: () => answered(frames, answer) };
      },
      subscribe: (args) => (args.contextValue as () => AsyncIterableIterator<ExecutionResult>)(),
      // Results come formatted and masked from the pipeline: sent as they are.
      onNext: (_ctx, _id, _payload, _args, result) => result,
    },
    wss,
  );

  /**
   * What graphql-ws iterates for a subscription: events go straight to the socket, so it yields
   * only a failure to start; its `return()` (the client's `complete`, or the socket closing)
   * releases what the subscription holds and frees its slot.
   */
  function stream(
    operation: SocketOperation,
    send: (json: string) => void,
  ): AsyncIterableIterator<ExecutionResult> {
    const started = live.start(operation.accepted as AcceptedSubscription, send);
    const queue = new AsyncQueue<ExecutionResult>(async () => {
      operation.release();
      const stop = await started.catch(() => undefined);
      await stop?.();
    });
    started.catch(() => {
      queue.push(INTERNAL_ERROR);
      void queue.return();
    });
    return queue;
  }

  return {
    async close() {
      options.httpServer.off('upgrade', onUpgrade);
      await disposable.dispose();
      wss.close();
    },
  };
}
