import type { FieldNode } from 'graphql';
import { badInput } from '../../platform/errors.js';
import { isEntityId } from '../../platform/ids.js';
import type { FollowUps } from './follow-ups.js';
import type { RootEventSource } from './root-event-source.js';
import type { SharedSubscriptions } from './shared-subscriptions.js';

/**
 * `Subscription.commentAdded(postId)`: each `comment.created` event of the post, with the selected
 * fields of the comment fetched once per event and selection.
 */
export function commentAdded(shared: SharedSubscriptions, followUps: FollowUps): RootEventSource {
  return {
    field: 'commentAdded',
    checkArguments(args) {
      if (typeof args.postId !== 'string' || !isEntityId(args.postId))
        throw badInput('postId is not a post id');
      return args;
    },
    engineSubscriptionsToOpen: (args) => (shared.has('comments', args.postId as string) ? 0 : 1),
    start(subscription, deliver) {
      const rootKey = (subscription.field.alias ?? subscription.field.name).value;
      const followUp = followUps.prepare(
        subscription,
        subscription.field.selectionSet as NonNullable<FieldNode['selectionSet']>,
        {
          rootField: 'comment',
          responseKey: rootKey,
          argument: 'id',
          variable: 'subscriptionCommentId',
          list: false,
        },
      );
      let chain = Promise.resolve();
      return shared.acquire('comments', subscription.args.postId as string, (event) => {
        if (event.type !== 'comment.created') return;
        chain = chain.then(async () => {
          const result = await followUp.fetch(event, event.commentId);
          // Deleted before it could be read: there is nothing to show.
          if (result.data?.[rootKey] === null && !result.errors) return;
          deliver(followUps.shared(event, `payload|${followUp.key}`, () => JSON.stringify(result)));
        });
      });
    },
  };
}
