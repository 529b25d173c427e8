import { useMutation } from '@apollo/client/react';
import { useState } from 'react';
import { Comments } from './comments';
import { tellNotSaved } from './notice';
import type { PostFieldsFragment } from './gql/graphql';
import { LikePost, UnlikePost } from './operations';

export function PostCard(props: {
  post: PostFieldsFragment;
  observe: (element: HTMLElement | null) => void;
}) {
  const { post } = props;
  const [like] = useMutation(LikePost);
  const [unlike] = useMutation(UnlikePost);
  const [threadOpen, setThreadOpen] = useState(false);
  const toggleLike = () => {
    const liked = !post.viewerHasLiked;
    const optimistic = {
      __typename: 'Post' as const,
      id: post.id,
      likeCount: Math.max(0, post.likeCount + (liked ? 1 : -1)),
      viewerHasLiked: liked,
    };
    const variables = { postId: post.id };
    // A failure rolls the optimistic answer back by itself (after the retries of an OVERLOADED
    // refusal, web/src/apollo.ts); the notice says why.
    if (liked)
      like({
        variables,
        optimisticResponse: { __typename: 'Mutation', likePost: optimistic },
      }).catch((error: unknown) => tellNotSaved('your like', error));
    else
      unlike({
        variables,
        optimisticResponse: { __typename: 'Mutation', unlikePost: optimistic },
      }).catch((error: unknown) => tellNotSaved('taking back your like', error));
  };
  return (
    <article className="post" data-testid="post" data-post-id={post.id} ref={props.observe}>
      <header>
        <strong>{post.author.username ?? post.author.id}</strong>
        <time dateTime={post.createdAt}>{new Date(post.createdAt).toLocaleString()}</time>
      </header>
      {post.media.map((media) => (
        <MediaView key={media.url} media={media} />
      ))}
      {post.caption && <p className="caption">{post.caption}</p>}
      <footer>
        <button
          type="button"
          data-testid="like-button"
          aria-pressed={post.viewerHasLiked}
          onClick={toggleLike}
        >
          {post.viewerHasLiked ? '♥ Unlike' : '♡ Like'}
        </button>
        <span data-testid="like-count">{post.likeCount}</span> likes
        <button
          type="button"
          data-testid="comments-toggle"
          onClick={() => setThreadOpen(!threadOpen)}
        >
          <span data-testid="comment-count">{post.commentCount}</span> comments
        </button>
      </footer>
      {threadOpen && <Comments postId={post.id} />}
    </article>
  );
}

/** The thumbnail first, then the full image over it once it has loaded. */
function MediaView({ media }: { media: PostFieldsFragment['media'][number] }) {
  const [loaded, setLoaded] = useState(false);
  const ratio = media.width && media.height ? `${media.width} / ${media.height}` : undefined;
  if (media.kind === 'VIDEO')
    return (
      <video
        className="media"
        controls
        preload="metadata"
        poster={media.thumbnailUrl ?? undefined}
        src={media.url}
        style={{ aspectRatio: ratio }}
      />
    );
  return (
    <div className="media" style={{ aspectRatio: ratio }}>
      {media.thumbnailUrl && !loaded && (
        <img className="thumbnail" src={media.thumbnailUrl} alt="" aria-hidden="true" />
      )}
      <img
        className={loaded ? 'full loaded' : 'full'}
        data-testid="photo"
        src={media.url}
        alt=""
        loading="lazy"
        onLoad={() => setLoaded(true)}
      />
    </div>
  );
}
