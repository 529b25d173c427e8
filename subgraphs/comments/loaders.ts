import DataLoader from 'dataloader';
import { inIdOrder, pageLoader } from '../../platform/grouped-pages.js';
import { createPostLoader, type CallerHeaders } from '../../platform/post-directory.js';
import type { CommentDoc } from './store/comments.js';
import type { CommentsStores } from './stores.js';

export function commentsLoaders(
  stores: CommentsStores,
  directory: { feedUrl: string; caller: CallerHeaders },
) {
  return {
    comments: new DataLoader<string, CommentDoc | null>(async (ids) =>
      inIdOrder(ids, await stores.comments.byIds(ids)),
    ),
    commentCounts: new DataLoader<string, number>(async (postIds) => {
      const counts = await stores.counts.byPostIds(postIds);
      return postIds.map((id) => counts.get(id) ?? 0);
    }),
    commentsByPost: pageLoader((postIds, page) => stores.comments.pagesByPost(postIds, page)),
    posts: createPostLoader({ feedUrl: directory.feedUrl }, directory.caller),
  };
}

export type CommentsLoaders = ReturnType<typeof commentsLoaders>;
