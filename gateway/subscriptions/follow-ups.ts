import { randomUUID } from 'node:crypto';
import type { ApolloServer } from '@apollo/server';
import {
  GraphQLError,
  print,
  type DocumentNode,
  type ExecutionResult,
  type FieldNode,
} from 'graphql';
import type { Logger } from '../../platform/logger.js';
import type { GatewayContext } from '../context.js';
import type { AcceptedSubscription } from './root-event-source.js';
import { followUpQuery } from './selection.js';

/**
 * Work derived from one event or push, shared by every subscriber that receives it: follow-up
 * query results and serialized payloads, by selection.
 */
type Memo = Map<string, unknown>;

export interface FollowUp {
  /** Runs the query for the entity `id` (ids) once per event, whatever the subscribers asking. */
  fetch(event: object, id: string | string[]): Promise<ExecutionResult>;
  /** What makes two subscribers' follow-ups the same: selection, variables and viewer if any. */
  key: string;
}

/**
 * The fields of a subscription payload that an event does not carry, fetched through the
 * gateway's own request pipeline (`executeOperation`: plan cache, limits, masking, metrics, logs)
 * once per event and distinct selection, and shared by every subscriber asking the same.
 */
export class FollowUps {
  private readonly memos = new WeakMap<object, Memo>();

  constructor(
    private readonly apollo: () => ApolloServer<GatewayContext>,
    private readonly logger: Logger,
    /** Whether a follow-up document has a field whose value depends on who asks. */
    private readonly dependsOnViewer: (document: DocumentNode) => boolean,
  ) {}

  /** Runs a query as the gateway itself: no client address, so no client budget is spent. */
  async run(
    document: DocumentNode,
    variables: Record<string, unknown>,
    context: GatewayContext,
  ): Promise<ExecutionResult> {
    try {
      const response = await this.apollo().executeOperation(
        { query: document, variables },
        { contextValue: context },
      );
      if (response.body.kind !== 'single') throw new Error('unexpected incremental response');
      return response.body.singleResult as ExecutionResult;
    } catch (error) {
      this.logger.error({ err: error }, 'subscription follow-up query failed');
      return {
        errors: [
          new GraphQLError('Internal server error', {
            extensions: { code: 'INTERNAL_SERVER_ERROR' },
          }),
        ],
      };
    }
  }

  /** A follow-up prepared once per subscription. */
  prepare(
    subscription: AcceptedSubscription,
    selections: NonNullable<FieldNode['selectionSet']>,
    target: Parameters<typeof followUpQuery>[2],
    /** Private to the viewer whatever is selected (their notifications). */
    viewerOnly = false,
  ): FollowUp {
    const { document, variables } = followUpQuery(
      subscription.operation,
      selections.selections,
      target,
    );
    const personal = viewerOnly || this.dependsOnViewer(document);
    const key = `${print(document)}|${JSON.stringify(variables)}|${personal ? subscription.viewer.id : ''}`;
    const fetch = (event: object, id: string | string[]): Promise<ExecutionResult> =>
      this.shared(event, key, () =>
        this.run(
          document,
          { ...variables, [target.variable]: id },
          personal
            ? {
                viewer: subscription.viewer,
                requestId: randomUUID(),
                authorization: subscription.authorization,
              }
            : anonymous(),
        ),
      );
    return { fetch, key };
  }

  /** `make()` once per event (or push) and key, whatever the number of subscribers asking. */
  shared<T>(event: object, key: string, make: () => T): T {
    let memo = this.memos.get(event);
    if (!memo) this.memos.set(event, (memo = new Map()));
    if (!memo.has(key)) memo.set(key, make());
    return memo.get(key) as T;
  }
}

/** The context of a query that depends on no viewer: its result may be shared by everyone. */
export const anonymous = (): GatewayContext => ({
  viewer: null,
  requestId: randomUUID(),
  authorization: undefined,
});

/**
 * A subscription's result as sent: `data` under the root field's response key, and the follow-up
 * query's errors (paths starting after its first `drop` segments) moved under that key.
 */
export function rootPayload(
  rootKey: string,
  data: Record<string, unknown>,
  followUpErrors: ExecutionResult['errors'],
  drop: number,
): string {
  const errors = relocate(followUpErrors, [rootKey], drop);
  return JSON.stringify(
    errors.length > 0 ? { data: { [rootKey]: data }, errors } : { data: { [rootKey]: data } },
  );
}

/** Errors of a follow-up query, moved under the subscription's response path. */
function relocate(
  errors: ExecutionResult['errors'],
  prefix: (string | number)[],
  drop: number,
): GraphQLError[] {
  return (errors ?? []).map(
    (error) =>
      new GraphQLError(error.message, {
        path: error.path ? [...prefix, ...error.path.slice(drop)] : prefix,
        extensions: error.extensions,
      }),
  );
}
