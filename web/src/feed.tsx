import { NetworkStatus } from '@apollo/client';
import { useQuery } from '@apollo/client/react';
import { useEffect, useRef } from 'react';
import { useLiveCounts, usePostsOnScreen } from './live-counts';
import { FeedQuery } from './operations';
import { PostCard } from './post-card';

const PAGE = 10;

export function Feed() {
  const { data, error, networkStatus, fetchMore, refetch } = useQuery(FeedQuery, {
    variables: { first: PAGE },
    notifyOnNetworkStatusChange: true,
  });
  const { ids, observe } = usePostsOnScreen();
  useLiveCounts(ids);
  const sentinel = useRef<HTMLDivElement | null>(null);
  const pageInfo = data?.feed.pageInfo;
  const fetchingMore = networkStatus === NetworkStatus.fetchMore;

  useEffect(() => {
    const element = sentinel.current;
    if (!element || !pageInfo?.hasNextPage || fetchingMore) return;
    const observer = new IntersectionObserver(
      ([entry]) => {
        if (entry?.isIntersecting)
          void fetchMore({ variables: { after: pageInfo.endCursor } }).catch(() => undefined);
      },
      { rootMargin: '400px 0px' },
    );
    observer.observe(element);
    return () => observer.disconnect();
  }, [pageInfo?.hasNextPage, pageInfo?.endCursor, fetchingMore, fetchMore]);

  if (!data && error)
    return (
      <div className="state error" role="alert">
        <p>The feed could not be loaded: {error.message}</p>
        <button type="button" onClick={() => void refetch()}>
          Try again
        </button>
      </div>
    );
  if (!data)
    return (
      <p className="state loading" data-testid="loading">
        Loading your feed…
      </p>
    );
  const edges = data.feed.edges;
  if (edges.length === 0)
    return (
      <p className="state empty" data-testid="empty">
        Nothing here yet. Post a photo, or follow someone.
      </p>
    );
  return (
    <section className="feed" aria-label="Feed">
      {edges.map(({ node }) => (
        <PostCard key={node.id} post={node} observe={observe} />
      ))}
      <div ref={sentinel} className="sentinel" />
      {fetchingMore && <p className="state loading">Loading more…</p>}
      {error && (
        <p className="state error" role="alert">
          {error.message}
        </p>
      )}
      {!pageInfo?.hasNextPage && <p className="state end">You are all caught up.</p>}
    </section>
  );
}
