import type { ApolloCache } from '@apollo/client';
import { useMutation, useQuery, useSubscription } from '@apollo/client/react';
import { useState, type FormEvent } from 'react';
import type { CommentFieldsFragment } from './gql/graphql';
import { AddComment, CommentAdded, CommentsQuery } from './operations';

const THREAD = 50;

/** A post's comments, oldest first, with new ones (anyone's) arriving live. */
export function Comments({ postId }: { postId: string }) {
  const variables = { postId, first: THREAD };
  const { data, loading, error } = useQuery(CommentsQuery, { variables });
  const [addComment, adding] = useMutation(AddComment);
  const [body, setBody] = useState('');

  useSubscription(CommentAdded, {
    variables: { postId },
    onData: ({ client, data: pushed }) => {
      const comment = pushed.data?.commentAdded;
      if (comment) append(client.cache, variables, comment);
    },
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const text = body.trim();
    if (!text) return;
    void addComment({
      variables: { postId, body: text },
      update: (cache, result) => {
        if (result.data) append(cache, variables, result.data.addComment);
      },
    }).then(
      () => setBody(''),
      () => undefined,
    );
  };

  return (
    <section className="comments" aria-label="Comments">
      {loading && <p className="state loading">Loading comments…</p>}
      {error && <p className="state error">{error.message}</p>}
      <ul>
        {data?.post?.comments.edges.map(({ node }) => (
          <li key={node.id} data-testid="comment">
            <strong>{node.author.username ?? node.author.id}</strong> {node.body}
          </li>
        ))}
      </ul>
      <form onSubmit={submit}>
        <input
          data-testid="comment-input"
          value={body}
          maxLength={2_200}
          placeholder="Add a comment…"
          onChange={(event) => setBody(event.target.value)}
        />
        <button type="submit" disabled={adding.loading}>
          Post
        </button>
      </form>
      {adding.error && <p className="state error">{adding.error.message}</p>}
    </section>
  );
}

/** Adds a comment at the end of the cached thread, once: the author's own arrives twice. */
function append(
  cache: ApolloCache,
  variables: { postId: string; first: number },
  comment: CommentFieldsFragment,
) {
  cache.updateQuery({ query: CommentsQuery, variables }, (current) => {
    if (!current?.post) return current;
    const edges = current.post.comments.edges;
    if (edges.some(({ node }) => node.id === comment.id)) return current;
    return {
      ...current,
      post: {
        ...current.post,
        comments: {
          ...current.post.comments,
          edges: [...edges, { __typename: 'CommentEdge' as const, node: comment }],
        },
      },
    };
  });
}
