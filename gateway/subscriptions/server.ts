import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ApolloServer } from '@apollo/server';
import {
  getArgumentValues,
  getOperationAST,
  getVariableValues,
  GraphQLError,
  Kind,
  parse,
  print,
  validate,
  type DocumentNode,
  type ExecutionResult,
  type FieldNode,
  type GraphQLSchema,
} from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import type { TokenVerifier, Viewer } from '../../platform/auth.js';
import { badInput } from '../../platform/errors.js';
import { isEntityId } from '../../platform/ids.js';
import type { Logger } from '../../platform/logger.js';
import type { Metrics } from '../../platform/metrics.js';
import type { EventClients, PubSub } from '../../platform/pubsub.js';
import type { GatewayContext } from '../context.js';
import { checkQueryLimits, type QueryLimits } from '../query-limits.js';
import { checkSource } from '../../platform/request-limits.js';
import { AsyncQueue } from './async-queue.js';
import { CommentStreams } from './comment-stream.js';
import { latestOnly, watchNotifications, type NotificationsPush } from './notifications.js';
import { PostCountsHub, type Counts, type CountsPush } from './post-counts.js';
import {
  collectFields,
  dependsOnViewer,
  followUpQuery,
  fragmentsOf,
  type Operation,
} from './selection.js';
import { SharedSubscriptions } from './shared-subscriptions.js';

export const MAX_POST_IDS = 100;
/** The WebSocket close code for a missing, bad or expired token (graphql-ws's Unauthorized). */
export const CLOSE_UNAUTHORIZED = 4401;
/** setTimeout's ceiling: a token valid for longer is re-checked no later than this. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface SubscriptionServerOptions {
  httpServer: Server;
  path: string;
  /** The supergraph's API schema, as the gateway last loaded it. */
  schema: () => GraphQLSchema | undefined;
  apollo: ApolloServer<GatewayContext>;
  auth: TokenVerifier;
  pubsub: PubSub;
  /** For the durable topics that `commentAdded` replays from. */
  events: EventClients;
  metrics: Metrics;
  logger: Logger;
  limits: QueryLimits;
  /** The most pushes of one post's counts per second. */
  pushesPerSecond: number;
  maxSubscriptionsPerConnection: number;
  /** Checks (and may resolve) a message's document before anything else: trusted documents. */
  admit?: (payload: {
    query: string;
    extensions?: Record<string, unknown> | null;
  }) => Promise<GraphQLError | undefined>;
}

interface Connection {
  viewer: Viewer;
  authorization: string;
  active: number;
  expiry: NodeJS.Timeout | undefined;
}

interface Plan {
  operation: Operation;
  field: FieldNode;
  args: Record<string, unknown>;
  connection: Connection;
  socket: WebSocket;
  /** The subscription's id, as JSON. */
  idJson: string;
}

interface SubscriptionContext extends GatewayContext {
  plan?: Plan;
}

/**
 * Work derived from one event or push, shared by every subscriber that receives it: follow-up
 * query results and serialized payloads, by selection.
 */
type Memo = Map<string, unknown>;

export interface SubscriptionServer {
  /** Engine subscriptions open in this process (one per topic and watched post). */
  engineSubscriptions(): number;
  close(): Promise<void>;
}

/**
 * Subscriptions for the supergraph, which `@apollo/gateway` cannot execute: graphql-ws on the
 * gateway's own port and path. The root field comes from the event stream; any other selected
 * field is fetched through the gateway's query path, once per event (or push) per distinct
 * selection, and the result is shared by every subscriber asking the same.
 */
export function startSubscriptionServer(options: SubscriptionServerOptions): SubscriptionServer {
  const { apollo, logger, metrics } = options;
  const shared = new SharedSubscriptions(options.pubsub, (size) =>
    metrics.engineSubscriptions.set(size),
  );
  const commentStreams = new CommentStreams(options.events);
  const connections = new WeakMap<WebSocket, Connection>();
  const memos = new WeakMap<object, Memo>();

  async function runQuery(
    document: DocumentNode,
    variables: Record<string, unknown>,
    context: GatewayContext,
  ): Promise<ExecutionResult> {
    try {
      const response = await apollo.executeOperation(
        { query: document, variables },
        { contextValue: context },
      );
      if (response.body.kind !== 'single') throw new Error('unexpected incremental response');
      return response.body.singleResult as ExecutionResult;
    } catch (error) {
      logger.error({ err: error }, 'subscription follow-up query failed');
      return {
        errors: [
          new GraphQLError('Internal server error', {
            extensions: { code: 'INTERNAL_SERVER_ERROR' },
          }),
        ],
      };
    }
  }

  const anonymous = (): GatewayContext => ({
    viewer: null,
    requestId: randomUUID(),
    authorization: undefined,
  });

  const countsQuery = parse(
    'query SubscriptionCounts($ids: [ID!]!) { postCounts(postIds: $ids) { postId likeCount commentCount } }',
  );
  async function fetchCounts(postIds: string[]): Promise<Map<string, Counts>> {
    const result = await runQuery(countsQuery, { ids: postIds }, anonymous());
    const rows = (result.data?.postCounts ?? null) as ({ postId: string } & Counts)[] | null;
    if (!rows)
      throw new Error(`current counts unavailable: ${result.errors?.[0]?.message ?? 'no data'}`);
    return new Map(
      rows.map((row) => [row.postId, { likeCount: row.likeCount, commentCount: row.commentCount }]),
    );
  }
  const hub = new PostCountsHub(shared, fetchCounts, Math.ceil(1_000 / options.pushesPerSecond));

  /**
   * A follow-up query prepared once per subscription, run at most once per event per distinct
   * selection (and viewer, when the selection depends on who asks).
   */
  function prepareFollowUp(
    plan: Plan,
    selections: NonNullable<FieldNode['selectionSet']>,
    target: Parameters<typeof followUpQuery>[2],
    /** Private to the viewer whatever is selected (their notifications). */
    viewerOnly = false,
  ) {
    const { document, variables } = followUpQuery(plan.operation, selections.selections, target);
    const personal = viewerOnly || dependsOnViewer(document);
    const key = `${print(document)}|${JSON.stringify(variables)}|${personal ? plan.connection.viewer.id : ''}`;
    const fetch = (event: object, id: string | string[]): Promise<ExecutionResult> =>
      sharedWork(event, key, () => {
        const context = personal
          ? {
              viewer: plan.connection.viewer,
              requestId: randomUUID(),
              authorization: plan.connection.authorization,
            }
          : anonymous();
        return runQuery(document, { ...variables, [target.variable]: id }, context);
      });
    return { fetch, key };
  }

  /** `make()` once per event (or push) and key, whatever the number of subscribers asking. */
  function sharedWork<T>(event: object, key: string, make: () => T): T {
    let memo = memos.get(event);
    if (!memo) memos.set(event, (memo = new Map()));
    if (!memo.has(key)) memo.set(key, make());
    return memo.get(key) as T;
  }

  /**
   * Sends a `next` message straight to the socket. graphql-ws still owns the subscription (its
   * start, the client's `complete`, the socket's close); pushes skip its per-message path because
   * one push goes to thousands of sockets: the payload is serialized once per push and selection,
   * and each socket gets it wrapped with its own subscription id.
   */
  function deliver(plan: Plan, payload: string): void {
    if (plan.socket.readyState !== plan.socket.OPEN) return;
    plan.socket.send(`{"id":${plan.idJson},"type":"next","payload":${payload}}`);
  }

  /** Errors of a follow-up query, moved under the subscription's response path. */
  function relocate(errors: ExecutionResult['errors'], prefix: (string | number)[], drop: number) {
    return (errors ?? []).map(
      (error) =>
        new GraphQLError(error.message, {
          path: error.path ? [...prefix, ...error.path.slice(drop)] : prefix,
          extensions: error.extensions,
        }),
    );
  }

  function postCountsChanged(plan: Plan): Promise<() => Promise<void>> {
    const rootKey = (plan.field.alias ?? plan.field.name).value;
    const fields = collectFields(
      plan.operation,
      plan.field.selectionSet as NonNullable<FieldNode['selectionSet']>,
      'PostCounts',
    );
    const fromEvent = new Set(['__typename', 'postId', 'likeCount', 'commentCount']);
    const others = fields.filter((field) => !fromEvent.has(field.name.value));
    const followUp =
      others.length > 0
        ? prepareFollowUp(
            plan,
            { kind: Kind.SELECTION_SET, selections: others },
            {
              rootField: 'postCounts',
              responseKey: 'counts',
              argument: 'postIds',
              variable: 'subscriptionPostIds',
              list: true,
            },
          )
        : undefined;
    const shape = `payload|${rootKey}|${fields.map((f) => `${(f.alias ?? f.name).value}:${f.name.value}`).join(',')}|${followUp?.key ?? ''}`;

    function payload(push: CountsPush, fetched: ExecutionResult | undefined): string {
      const row = ((fetched?.data?.counts ?? []) as Record<string, unknown>[])[0] ?? {};
      const data: Record<string, unknown> = {};
      for (const field of fields) {
        const key = (field.alias ?? field.name).value;
        const name = field.name.value;
        data[key] =
          name === '__typename'
            ? 'PostCounts'
            : name === 'postId'
              ? push.postId
              : name === 'likeCount'
                ? push.likeCount
                : name === 'commentCount'
                  ? push.commentCount
                  : (row[key] ?? null);
      }
      const errors = relocate(fetched?.errors, [rootKey], 2);
      return JSON.stringify(
        errors.length > 0 ? { data: { [rootKey]: data }, errors } : { data: { [rootKey]: data } },
      );
    }

    const postIds = plan.args.postIds as string[];
    if (!followUp) {
      // Counts only: everything is in the push, so delivery is synchronous and in order.
      return hub.watch(postIds, (push) =>
        deliver(
          plan,
          sharedWork(push, shape, () => payload(push, undefined)),
        ),
      );
    }
    // One chain per subscription: pushes reach the client in the order they happened.
    let chain = Promise.resolve();
    return hub.watch(postIds, (push) => {
      chain = chain.then(async () => {
        const fetched = await followUp.fetch(push, [push.postId]);
        deliver(
          plan,
          sharedWork(push, shape, () => payload(push, fetched)),
        );
      });
    });
  }

  function commentAdded(plan: Plan): Promise<() => Promise<void>> {
    const rootKey = (plan.field.alias ?? plan.field.name).value;
    const followUp = prepareFollowUp(
      plan,
      plan.field.selectionSet as NonNullable<FieldNode['selectionSet']>,
      {
        rootField: 'comment',
        responseKey: rootKey,
        argument: 'id',
        variable: 'subscriptionCommentId',
        list: false,
      },
    );
    let chain = Promise.resolve();
    return commentStreams.acquire(plan.args.postId as string, (event) => {
      chain = chain.then(async () => {
        const result = await followUp.fetch(event, event.commentId);
        // Deleted before it could be read: there is nothing to show.
        if (result.data?.[rootKey] === null && !result.errors) return;
        deliver(
          plan,
          sharedWork(event, `payload|${followUp.key}`, () => JSON.stringify(result)),
        );
      });
    });
  }

  const badgeQuery = parse(
    'query NotificationsBadge { notifications(first: 1) { unreadCount edges { node { id } } } }',
  );
  function notificationsChanged(plan: Plan): Promise<() => Promise<void>> {
    const rootKey = (plan.field.alias ?? plan.field.name).value;
    const fields = collectFields(
      plan.operation,
      plan.field.selectionSet as NonNullable<FieldNode['selectionSet']>,
      'NotificationsChange',
    );
    const latest = fields.find((field) => field.name.value === 'latest');
    const followUp = latest?.selectionSet
      ? prepareFollowUp(
          plan,
          latest.selectionSet,
          {
            rootField: 'notification',
            responseKey: 'latest',
            argument: 'id',
            variable: 'subscriptionNotificationId',
            list: false,
          },
          true,
        )
      : undefined;
    const viewerContext = (): GatewayContext => ({
      viewer: plan.connection.viewer,
      requestId: randomUUID(),
      authorization: plan.connection.authorization,
    });
    const pushLatest = latestOnly(async (state: NotificationsPush) => {
      const fetched =
        followUp && state.latestId ? await followUp.fetch(state, state.latestId) : undefined;
      const data: Record<string, unknown> = {};
      for (const field of fields) {
        const key = (field.alias ?? field.name).value;
        const name = field.name.value;
        data[key] =
          name === '__typename'
            ? 'NotificationsChange'
            : name === 'unreadCount'
              ? state.unreadCount
              : (fetched?.data?.latest ?? null);
      }
      const errors = relocate(fetched?.errors, [rootKey], 1);
      deliver(
        plan,
        JSON.stringify(
          errors.length > 0 ? { data: { [rootKey]: data }, errors } : { data: { [rootKey]: data } },
        ),
      );
    });
    return watchNotifications({
      pubsub: options.pubsub,
      viewerId: plan.connection.viewer.id,
      minIntervalMs: Math.ceil(1_000 / options.pushesPerSecond),
      async current() {
        const result = await runQuery(badgeQuery, {}, viewerContext());
        const badge = result.data?.notifications as
          { unreadCount: number; edges: { node: { id: string } }[] } | undefined;
        if (!badge) throw new Error(`badge unavailable: ${result.errors?.[0]?.message}`);
        return { unreadCount: badge.unreadCount, latestId: badge.edges[0]?.node.id ?? null };
      },
      push: pushLatest,
    });
  }

  /**
   * What graphql-ws iterates for a subscription: it yields only a failure to start (pushes go
   * straight to the socket), and its `return()` releases everything the subscription holds.
   */
  function subscribe(context: SubscriptionContext): AsyncIterableIterator<ExecutionResult> {
    const plan = context.plan as Plan;
    metrics.subscriptions.inc();
    const queue = new AsyncQueue<ExecutionResult>(async () => {
      plan.connection.active--;
      metrics.subscriptions.dec();
      const stop = await started.catch(() => undefined);
      await stop?.();
    });
    const sources = { postCountsChanged, commentAdded, notificationsChanged };
    const start = sources[plan.field.name.value as keyof typeof sources];
    const started = start(plan);
    started.catch((error: unknown) => {
      logger.error({ err: error }, 'subscription failed to start');
      queue.push({
        errors: [
          new GraphQLError('Internal server error', {
            extensions: { code: 'INTERNAL_SERVER_ERROR' },
          }),
        ],
      });
      void queue.return();
    });
    return queue;
  }

  function checkArguments(field: string, args: Record<string, unknown>): Record<string, unknown> {
    if (field === 'postCountsChanged') {
      const postIds = [...new Set(args.postIds as string[])];
      if (postIds.length < 1 || postIds.length > MAX_POST_IDS) {
        throw badInput(`postIds takes 1 to ${MAX_POST_IDS} ids`);
      }
      return { postIds };
    }
    if (field === 'notificationsChanged') return args;
    if (typeof args.postId !== 'string' || !isEntityId(args.postId))
      throw badInput('postId is not a post id');
    return args;
  }

  // ws buffers up to 100 MiB of one message by default; a message is a query and its variables.
  const wss = new WebSocketServer({ noServer: true, maxPayload: 2 * options.limits.maxQueryBytes });
  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (new URL(request.url ?? '/', 'http://localhost').pathname !== options.path) {
      socket.destroy();
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
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
        const connection: Connection = {
          viewer,
          authorization: header as string,
          active: 0,
          expiry: undefined,
        };
        if (viewer.expiresAt !== undefined) {
          const ms = Math.min(viewer.expiresAt * 1_000 - Date.now(), MAX_TIMER_MS);
          connection.expiry = setTimeout(
            () => socket.close(CLOSE_UNAUTHORIZED, 'Token expired'),
            Math.max(ms, 0),
          );
        }
        connections.set(socket, connection);
        metrics.websockets.inc();
        return true;
      },
      onClose(ctx) {
        const connection = connections.get(ctx.extra.socket);
        if (!connection) return;
        clearTimeout(connection.expiry);
        metrics.websockets.dec();
      },
      async onSubscribe(ctx, id, payload) {
        const refused = await options.admit?.(payload);
        if (refused) return [refused];
        const schema = options.schema();
        const connection = connections.get(ctx.extra.socket);
        if (!schema || !connection)
          return [new GraphQLError('Not ready', { extensions: { code: 'INTERNAL_SERVER_ERROR' } })];
        const tooLarge = checkSource(payload.query, options.limits);
        if (tooLarge) return [tooLarge];
        let document: DocumentNode;
        try {
          document = parse(payload.query);
        } catch (error) {
          return [
            new GraphQLError((error as Error).message, {
              extensions: { code: 'GRAPHQL_PARSE_FAILED' },
            }),
          ];
        }
        const invalid = validate(schema, document);
        if (invalid.length > 0) {
          return invalid.map(
            (error) =>
              new GraphQLError(error.message, {
                nodes: error.nodes,
                extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
              }),
          );
        }
        const operation = getOperationAST(document, payload.operationName);
        const tooComplex =
          operation &&
          checkQueryLimits(schema, document, operation, options.limits, payload.variables ?? {});
        if (tooComplex) return [tooComplex];
        if (!operation)
          return [
            new GraphQLError('Unknown operation', {
              extensions: { code: 'OPERATION_RESOLUTION_FAILURE' },
            }),
          ];
        const coerced = getVariableValues(
          schema,
          operation.variableDefinitions ?? [],
          payload.variables ?? {},
        );
        if (coerced.errors)
          return coerced.errors.map(
            (error) => new GraphQLError(error.message, { extensions: { code: 'BAD_USER_INPUT' } }),
          );
        const variables = coerced.coerced;
        const contextValue: SubscriptionContext = {
          ip: ctx.extra.request.socket.remoteAddress ?? 'unknown',
          viewer: connection.viewer,
          requestId: randomUUID(),
          authorization: connection.authorization,
        };
        if (operation.operation === 'subscription') {
          if (connection.active >= options.maxSubscriptionsPerConnection) {
            return [
              badInput(
                `At most ${options.maxSubscriptionsPerConnection} subscriptions per connection`,
              ),
            ];
          }
          const fragments = fragmentsOf(document);
          const subscription: Operation = { document, operation, fragments, variables };
          const [field] = collectFields(subscription, operation.selectionSet, 'Subscription');
          const definition = field && schema.getSubscriptionType()?.getFields()[field.name.value];
          if (!field || !definition) return [badInput('Unknown subscription')];
          try {
            const args = checkArguments(
              field.name.value,
              getArgumentValues(definition, field, variables),
            );
            contextValue.plan = {
              operation: subscription,
              field,
              args,
              connection,
              socket: ctx.extra.socket,
              idJson: JSON.stringify(id),
            };
          } catch (error) {
            return [error as GraphQLError];
          }
          connection.active++;
        }
        return {
          schema,
          document,
          operationName: payload.operationName,
          variableValues: variables,
          contextValue,
        };
      },
      subscribe: (args) => subscribe(args.contextValue as SubscriptionContext),
      // Queries and mutations sent over the socket take the ordinary path.
      execute: (args) =>
        runQuery(
          args.document,
          (args.variableValues ?? {}) as Record<string, unknown>,
          args.contextValue as GatewayContext,
        ),
    },
    wss,
  );

  return {
    engineSubscriptions: () => shared.size,
    async close() {
      options.httpServer.off('upgrade', onUpgrade);
      await disposable.dispose();
      wss.close();
    },
  };
}
