import { useSubscription } from '@apollo/client/react';
import { useEffect, useRef, useState } from 'react';
import { PostCountsChanged } from './operations';

/** The gateway's limit for one `postCountsChanged` subscription. */
const MAX_IDS = 100;
/** Scrolling changes what is on screen many times a second; the subscription follows at rest. */
const SETTLE_MS = 250;

/**
 * The ids of the posts on (or near) the screen: each post's element carries `data-post-id` and is
 * registered with `observe`. Capped at the gateway's limit, sorted so that the same set is the
 * same subscription.
 */
export function usePostsOnScreen() {
  const visible = useRef(new Set<string>());
  const [ids, setIds] = useState<string[]>([]);
  const observer = useRef<IntersectionObserver | null>(null);
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    observer.current = new IntersectionObserver(
      (entries) => {
        for (const entry of entries) {
          const id = (entry.target as HTMLElement).dataset.postId;
          if (!id) continue;
          if (entry.isIntersecting) visible.current.add(id);
          else visible.current.delete(id);
        }
        clearTimeout(timer);
        timer = setTimeout(() => {
          const next = [...visible.current].sort().slice(0, MAX_IDS);
          setIds((current) => (current.join() === next.join() ? current : next));
        }, SETTLE_MS);
      },
      { rootMargin: '50% 0px' },
    );
    return () => {
      clearTimeout(timer);
      observer.current?.disconnect();
    };
  }, []);
  const observe = (element: HTMLElement | null) => {
    if (element) observer.current?.observe(element);
  };
  return { ids, observe };
}

/**
 * One subscription for every post on screen. Each push (the current counts first, then changes)
 * is written onto the cached Post, so every view of that post shows it; a reconnect re-subscribes
 * and the first push sets the counts right at once.
 */
export function useLiveCounts(postIds: string[]) {
  useSubscription(PostCountsChanged, {
    variables: { postIds },
    skip: postIds.length === 0,
    onData: ({ client, data }) => {
      const counts = data.data?.postCountsChanged;
      if (!counts) return;
      client.cache.modify({
        id: client.cache.identify({ __typename: 'Post', id: counts.postId }),
        fields: {
          likeCount: () => counts.likeCount,
          commentCount: () => counts.commentCount,
        },
      });
    },
  });
}
