import { Kind, type ExecutionResult, type FieldNode } from 'graphql';
import { badInput } from '../../platform/errors.js';
import { isEntityId } from '../../platform/ids.js';
import type { FollowUps } from './follow-ups.js';
import { rootPayload } from './follow-ups.js';
import type { CountsPush, PostCountsHub } from './post-counts.js';
import type { RootEventSource } from './root-event-source.js';
import { collectFields, resolveFields } from './selection.js';

const MAX_POST_IDS = 100;
/** What a push carries itself; any other field of `PostCounts` is a follow-up query. */
const FROM_PUSH = new Set(['__typename', 'postId', 'likeCount', 'commentCount']);

/**
 * `Subscription.postCountsChanged(postIds)`: the current counts of every post, then coalesced
 * changes (`PostCountsHub`), with `post { … }` and any other field fetched once per push and
 * selection.
 */
export function postCountsChanged(hub: PostCountsHub, followUps: FollowUps): RootEventSource {
  return {
    field: 'postCountsChanged',
    checkArguments(args) {
      const asked = args.postIds as string[];
      // Counted as sent, repeats included, as the postCounts query counts them.
      if (asked.length < 1 || asked.length > MAX_POST_IDS) {
        throw badInput(`postIds takes 1 to ${MAX_POST_IDS} ids`);
      }
      const postIds = [...new Set(asked)];
      // Each id names an engine subject: anything but a post id could be a wildcard.
      if (!postIds.every(isEntityId))
        throw badInput('postIds holds something that is not a post id');
      return { postIds };
    },
    engineSubscriptionsToOpen: (args) => 2 * hub.unwatched(args.postIds as string[]),
    start(subscription, deliver) {
      const { field, operation } = subscription;
      const rootKey = (field.alias ?? field.name).value;
      const fields = collectFields(
        operation,
        field.selectionSet as NonNullable<FieldNode['selectionSet']>,
        'PostCounts',
      );
      const others = fields.filter((each) => !FROM_PUSH.has(each.name.value));
      const followUp =
        others.length > 0
          ? followUps.prepare(
              subscription,
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

      const payload = (push: CountsPush, fetched: ExecutionResult | undefined): string => {
        const row = ((fetched?.data?.counts ?? []) as Record<string, unknown>[])[0] ?? {};
        const data = resolveFields(fields, (name, responseKey) => {
          switch (name) {
            case '__typename':
              return 'PostCounts';
            case 'postId':
              return push.postId;
            case 'likeCount':
              return push.likeCount;
            case 'commentCount':
              return push.commentCount;
            default:
              return row[responseKey] ?? null;
          }
        });
        return rootPayload(rootKey, data, fetched?.errors, 2);
      };

      const postIds = subscription.args.postIds as string[];
      if (!followUp) {
        // Counts only: everything is in the push, so delivery is synchronous and in order.
        return hub.watch(postIds, (push) =>
          deliver(followUps.shared(push, shape, () => payload(push, undefined))),
        );
      }
      // One chain per subscription: pushes reach the client in the order they happened.
      let chain = Promise.resolve();
      return hub.watch(postIds, (push) => {
        chain = chain.then(async () => {
          const fetched = await followUp.fetch(push, [push.postId]);
          deliver(followUps.shared(push, shape, () => payload(push, fetched)));
        });
      });
    },
  };
}
