import { graphql } from './gql';

export const ViewerQuery = graphql(`
  query Viewer {
    viewer {
      id
      username
    }
  }
`);

export const PostFields = graphql(`
  fragment PostFields on Post {
    id
    caption
    createdAt
    author {
      id
      username
    }
    media {
      kind
      url
      thumbnailUrl
      width
      height
    }
    likeCount
    commentCount
    viewerHasLiked
  }
`);

export const FeedQuery = graphql(`
  query Feed($first: Int!, $after: String) {
    feed(first: $first, after: $after) {
      edges {
        cursor
        node {
          ...PostFields
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

export const LikePost = graphql(`
  mutation LikePost($postId: ID!) {
    likePost(postId: $postId) {
      id
      likeCount
      viewerHasLiked
    }
  }
`);

export const UnlikePost = graphql(`
  mutation UnlikePost($postId: ID!) {
    unlikePost(postId: $postId) {
      id
      likeCount
      viewerHasLiked
    }
  }
`);

export const CommentFields = graphql(`
  fragment CommentFields on Comment {
    id
    body
    createdAt
    author {
      id
      username
    }
  }
`);

export const CommentsQuery = graphql(`
  query Comments($postId: ID!, $first: Int!) {
    post(id: $postId) {
      id
      comments(first: $first) {
        edges {
          node {
            ...CommentFields
          }
        }
      }
    }
  }
`);

export const AddComment = graphql(`
  mutation AddComment($postId: ID!, $body: String!) {
    addComment(postId: $postId, body: $body) {
      ...CommentFields
    }
  }
`);

export const CommentAdded = graphql(`
  subscription CommentAdded($postId: ID!) {
    commentAdded(postId: $postId) {
      ...CommentFields
    }
  }
`);

export const PostCountsChanged = graphql(`
  subscription PostCountsChanged($postIds: [ID!]!) {
    postCountsChanged(postIds: $postIds) {
      postId
      likeCount
      commentCount
    }
  }
`);

export const CreatePost = graphql(`
  mutation CreatePost($input: CreatePostInput!) {
    createPost(input: $input) {
      ...PostFields
    }
  }
`);

export const NotificationFields = graphql(`
  fragment NotificationFields on Notification {
    id
    kind
    read
    updatedAt
    actorCount
    actors(first: 1) {
      id
      username
    }
    comment {
      id
      body
    }
  }
`);

export const NotificationsQuery = graphql(`
  query Notifications($first: Int!, $after: String) {
    notifications(first: $first, after: $after) {
      edges {
        cursor
        node {
          ...NotificationFields
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
      unreadCount
    }
  }
`);

export const MarkNotificationsRead = graphql(`
  mutation MarkNotificationsRead($upTo: ID) {
    markNotificationsRead(upTo: $upTo)
  }
`);

export const NotificationsChanged = graphql(`
  subscription NotificationsChanged {
    notificationsChanged {
      unreadCount
      latest {
        ...NotificationFields
      }
    }
  }
`);
