/**
 * The shard key of every collection, by subgraph: what `npm run db:shard` applies on a mongos,
 * what the README's table explains, and what the shard-key test holds every query to. `shard` is
 * the logical shard (0 to 4095) decoded from an id or hashed from a user id (platform/ids.ts); it
 * leads every key, so writes spread over the cluster even though ids grow with time.
 */
export interface ShardedCollection {
  key: Record<string, 1>;
  /** The key is also the collection's unique index (one like per user and post, one follow edge). */
  unique: boolean;
  why: string;
}

export const SHARD_KEYS: Record<string, Record<string, ShardedCollection>> = {
  feed: {
    users: {
      key: { shard: 1, _id: 1 },
      unique: false,
      why: 'profiles are read by id; the logical shard is a hash of the id',
    },
    posts: {
      key: { shard: 1, _id: 1 },
      unique: false,
      why: "a post takes its author's logical shard: by id, and an author's posts, are one-shard reads",
    },
    follows: {
      key: { shard: 1, followerId: 1, followeeId: 1 },
      unique: true,
      why: "who a user follows (the feed, viewerFollows) lives on the follower's shard",
    },
    followers: {
      key: { shard: 1, followeeId: 1, followerId: 1 },
      unique: true,
      why: "a user's followers (followerCount) live on the followed user's shard",
    },
    usernames: {
      key: { shard: 1, _id: 1 },
      unique: false,
      why: 'who a mention names: the logical shard is a hash of the lower-cased name',
    },
    timelines: {
      key: { shard: 1, _id: 1 },
      unique: false,
      why: "a reader's home timeline is one document on the reader's shard",
    },
    assets: {
      key: { shard: 1, _id: 1 },
      unique: false,
      why: "an upload takes its owner's logical shard: delivery and createPost read it by id",
    },
    'media.chunks': {
      key: { files_id: 1, n: 1 },
      unique: true,
      why: "GridFS blobs: MongoDB's key for chunks, a blob's chunks together and in order",
    },
  },
  likes: {
    likes: {
      key: { shard: 1, postId: 1, userId: 1 },
      unique: true,
      why: "a post's likes, the viewer's like and the recount all live on the post's shard",
    },
    like_counts: {
      key: { shard: 1, _id: 1 },
      unique: false,
      why: 'one counter per post, next to its likes',
    },
  },
  notifications: {
    notifications: {
      key: { shard: 1, recipientId: 1, group: 1 },
      unique: true,
      why: "a user's notifications live on their shard; one per group (a post's likes, a comment)",
    },
    deleted_posts: {
      key: { shard: 1, _id: 1 },
      unique: false,
      why: "a deleted post's record, on the post's logical shard: late events find it by id",
    },
  },
  comments: {
    comments: {
      key: { shard: 1, _id: 1 },
      unique: false,
      why: "a comment takes its post's logical shard: by id, and a post's comments, are one-shard reads",
    },
    comment_counts: {
      key: { shard: 1, _id: 1 },
      unique: false,
      why: 'one counter per post, next to its comments',
    },
  },
};
