import type { FieldNode } from 'graphql';
import { badInput } from '../../platform/errors.js';
import { isEntityId } from '../../platform/ids.js';
import type { CommentStreams } from './comment-stream.js';
import type { FollowUps } from './follow-ups.js';
import type { RootEventSource } from './root-event-source.js';

/**
 * `Subscription.commentAdded(postId)`: each new comment of the post, read from the durable comment
 * topic (so comments posted during an outage arrive afterwards, in order), with the selected fields
 * of the comment fetched once per event and selection.
 */
export function commentAdded(streams: CommentStreams, followUps: FollowUps): RootEventSource {
  return {
    field: 'commentAdded',
    checkArguments(args) {
      if (typeof args.postId !== 'string' || !isEntityId(args.postId))
        throw badInput('postId is not a post id');
      return args;
    },
    engineSubscriptionsToOpen: (args) => (streams.has(args.postId as string) ? 0 : 1),
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
      return streams.acquire(subscription.args.postId as string, (event) => {
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
