import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApolloServer, BaseContext } from '@apollo/server';
import { GraphQLError } from 'graphql';
import { writeBatched } from './batched-writes.js';
import type { ConnectionCaps } from './connection-caps.js';
import type { LiveSubscriptions } from './live-subscriptions.js';
import { CUT_OFF_GRACE_MS, type SlowReaders } from './slow-readers.js';
import type { SubscriptionTransport } from './subscription-transport.js';
import { onTokenExpiry } from './token-expiry.js';

/** Apollo's multipart subscription protocol: how often an idle stream says it is alive. */
const HEARTBEAT_MS = 5_000;
const BOUNDARY = 'graphql';
const DELIMITER = `\r\n--${BOUNDARY}`;
const PART_HEADERS = '\r\ncontent-type: application/json; charset=utf-8\r\n\r\n';
const FAILED =
  '{"payload":null,"errors":[{"message":"Internal server error","extensions":{"code":"INTERNAL_SERVER_ERROR"}}]}';
const EXPIRED =
  '{"payload":null,"errors":[{"message":"Token expired","extensions":{"code":"UNAUTHENTICATED"}}]}';

/** Whether an HTTP request asks for Apollo's multipart subscription protocol. */
export function acceptsMultipartSubscription(req: IncomingMessage): boolean {
  const accept = req.headers.accept ?? '';
  return /multipart\/mixed[^,]*subscriptionSpec/i.test(accept) || isBareMultipart(accept);
}

/**
 * A bare `multipart/mixed` from a client that takes no JSON answer, rather than Apollo Client's
 * `multipart/mixed;subscriptionSpec="1.0"`: urql's `fetchSubscriptions` sends `text/event-stream,
 * multipart/mixed`, and reads Apollo's `{"payload": …}` parts.
 */
function isBareMultipart(accept: string): boolean {
  return /multipart\/mixed\s*(,|$)/i.test(accept) && !/json/i.test(accept);
}

/**
 * Apollo Server negotiates by the `accept` header before anything runs, and knows only the
 * spec-named form: a bare one is handed to it as that, so that the subscription is served (a
 * query, as JSON) rather than refused as not acceptable.
 */
export function withMultipartSubscriptionAccept<Ctx extends BaseContext>(
  apollo: Pick<ApolloServer<Ctx>, 'executeHTTPGraphQLRequest'>,
): Pick<ApolloServer<Ctx>, 'executeHTTPGraphQLRequest'> {
  return {
    executeHTTPGraphQLRequest(request) {
      const { headers } = request.httpGraphQLRequest;
      if (isBareMultipart(headers.get('accept') ?? '')) {
        headers.set('accept', 'multipart/mixed;subscriptionSpec="1.0", application/json');
      }
      return apollo.executeHTTPGraphQLRequest(request);
    },
  };
}

/**
 * Subscriptions over HTTP, as Apollo Client and Router speak them
 * (`accept: multipart/mixed;subscriptionSpec="1.0"`): one `multipart/mixed` response per
 * subscription, each event a `{"payload": …}` part, a `{}` part every few seconds so that proxies
 * and clients know the stream is alive, and `{"payload": null, "errors": […]}` when it fails or
 * its token expires (`UNAUTHENTICATED`, as the WebSocket closes with 4401 then) or its client stops
 * reading (`SLOW_READER`, past `STREAM_MAX_BUFFERED_BYTES` unsent; the WebSocket closes with 1013). The
 * request ran through the pipeline like any other; errors found there (validation, limits,
 * budget) come back as an ordinary JSON response, since no part has been written yet.
 */
export class MultipartSubscriptions {
  /** How to end each open stream, for shutdown. */
  private readonly open = new Set<() => void>();
  /** The last part of a stream whose client stopped reading. */
  private readonly slowReaderPart: string;

  constructor(
    private readonly live: LiveSubscriptions,
    /** Streams per user and per address, shared with the WebSocket. */
    private readonly caps: ConnectionCaps,
    /** The bound on a stream's unsent bytes, shared with the WebSocket. */
    private readonly slowReaders: SlowReaders,
  ) {
    this.slowReaderPart = JSON.stringify({
      payload: null,
      errors: [
        {
          message: `The client read too slowly: more than ${slowReaders.maxBufferedBytes} bytes waited to be sent`,
          extensions: { code: 'SLOW_READER' },
        },
      ],
    });
  }

  /** The transport of one HTTP request, writing to its response once a subscription is accepted. */
  transport(res: ServerResponse): SubscriptionTransport {
    return {
      open: (subscription) => {
        const ip = res.req.socket.remoteAddress ?? 'unknown';
        const refusal = this.caps.ipRefusal(ip) ?? this.caps.userRefusal(subscription.viewer.id);
        if (refusal) {
          return new GraphQLError(refusal, { extensions: { code: 'RATE_LIMITED' } });
        }
        const releases = [this.caps.holdIp(ip), this.caps.holdUser(subscription.viewer.id)];
        res.writeHead(200, {
          'content-type': `multipart/mixed;boundary="${BOUNDARY}";subscriptionSpec="1.0"`,
          'cache-control': 'no-store',
        });
        // Each part is closed by the next delimiter at once: clients hand a part on only when
        // they see the delimiter after it, so a part left open would wait for the next heartbeat.
        res.write(DELIMITER);
        const who = { ip, user: subscription.viewer.id };
        const part = (json: string) => {
          if (res.writableEnded) return;
          if (this.slowReaders.fellBehind('multipart', res.writableLength, who)) {
            // Said after the backlog, for a client that reads again within the grace; the
            // socket goes then, with whatever it still holds.
            res.write(`${PART_HEADERS}${this.slowReaderPart}${DELIMITER}`);
            end();
            const destroy = setTimeout(() => res.destroy(), CUT_OFF_GRACE_MS).unref();
            res.once('close', () => clearTimeout(destroy));
            return;
          }
          writeBatched(res, `${PART_HEADERS}${json}${DELIMITER}`);
        };
        // The first part tells the client the subscription is live before any event comes. A
        // client that asked with a bare `multipart/mixed` (urql) reads each part as a result and
        // takes an empty first one for an error: it gets no part before the first event, and
        // heartbeats only after it.
        let spoken = !isBareMultipart(res.req.headers.accept ?? '');
        if (spoken) part('{}');
        const heartbeat = setInterval(() => spoken && part('{}'), HEARTBEAT_MS);
        const started = this.live.start(subscription, (payload) => {
          spoken = true;
          part(`{"payload":${payload}}`);
        });
        const stopExpiry = onTokenExpiry(subscription.viewer, () => {
          part(EXPIRED);
          end();
        });
        const end = () => {
          this.open.delete(end);
          stopExpiry();
          for (const release of releases) release();
          clearInterval(heartbeat);
          if (!res.writableEnded) res.end('--\r\n');
          void started.then((stop) => stop()).catch(() => undefined);
        };
        this.open.add(end);
        res.once('close', end);
        started.catch(() => {
          part(FAILED);
          end();
        });
        return undefined;
      },
    };
  }

  /** Ends every open stream (the client may resubscribe elsewhere), as at shutdown. */
  close(): void {
    for (const end of [...this.open]) end();
  }
}
