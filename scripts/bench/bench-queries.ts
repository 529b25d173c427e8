/** The operations of `npm run bench`: the feed query of the API contract, a post page, writes. */
export const FEED_QUERY = `query Feed {
  feed(first: 20) {
    edges {
      cursor
      node {
        id caption createdAt
        media { kind url width height durationMs }
        author { id username }
        likeCount viewerHasLiked commentCount
        comments(first: 2) { edges { node { id body author { id username } } } }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}`;

export const POST_QUERY = `query PostDetail($id: ID!) {
  post(id: $id) {
    id caption createdAt
    media { kind url width height }
    author { id username followerCount viewerFollows }
    likeCount viewerHasLiked commentCount
    comments(first: 10) { edges { node { id body createdAt author { id username } } } pageInfo { hasNextPage endCursor } }
    likes(first: 5) { edges { node { createdAt user { id username } } } }
  }
}`;

export const LIKE =
  'mutation Like($id: ID!) { likePost(postId: $id) { id likeCount viewerHasLiked } }';
export const UNLIKE =
  'mutation Unlike($id: ID!) { unlikePost(postId: $id) { id likeCount viewerHasLiked } }';
export const COMMENT =
  'mutation Comment($id: ID!, $body: String!) { addComment(postId: $id, body: $body) { id post { id commentCount } } }';
