import type { Collection, Document, MongoClient } from 'mongodb';
import { newId, shardOfId, shardOfUser } from '../../platform/ids.js';
import { databaseName } from '../../platform/mongo.js';
import { HEAD_SIZE } from '../../subgraphs/comments/store/comment-counts.js';
import type { CommentDoc } from '../../subgraphs/comments/store/comments.js';
import type { FollowerDoc } from '../../subgraphs/feed/store/followers.js';
import type { FollowDoc } from '../../subgraphs/feed/store/follows.js';
import type { PostDoc } from '../../subgraphs/feed/store/posts.js';
import type { UserDoc } from '../../subgraphs/feed/store/users.js';
import type { LikeDoc } from '../../subgraphs/likes/store/likes.js';

export interface SeedSizes {
  users: number;
  posts: number;
  /** Each user follows between these many others (uniformly drawn). */
  minFollows: number;
  maxFollows: number;
  likesPerPost: number;
  commentsPerPost: number;
}

export interface SeededData {
  userIds: string[];
  /** Every post id, newest first. */
  postIds: string[];
  /** Users by follower count, most followed first. */
  celebrities: string[];
  follows: number;
  likes: number;
  comments: number;
}

/** A small seeded generator (mulberry32): the same sizes give the same graph on every run. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function insertAll<T extends Document>(collection: Collection<T>, docs: T[]): Promise<void> {
  for (let i = 0; i < docs.length; i += 5_000) {
    await collection.insertMany(docs.slice(i, i + 5_000) as never, { ordered: false });
  }
}

const usernameOf = (userId: string) => `user${userId.slice(1)}`;

/**
 * Bulk data for `npm run bench`, written straight into the subgraphs' collections in the shapes
 * their stores write (counters and mirrors included, every row synced), so that 100,000s of rows
 * take seconds instead of the hours the public mutations would. Popularity is skewed: the chance
 * of being followed falls with a user's rank (Zipf, exponent 1), so a few celebrities are
 * followed by most users, and their posts draw more likes and comments.
 */
export async function seedBench(
  mongo: MongoClient,
  dbPrefix: string,
  sizes: SeedSizes,
): Promise<SeededData> {
  const next = random(42);
  const pick = (n: number) => Math.floor(next() * n);
  const now = Date.now();
  const userIds = Array.from({ length: sizes.users }, (_, i) => `u${String(i).padStart(5, '0')}`);

  // Rank weights 1/(r+1), sampled by binary search over the running sum.
  const cumulative: number[] = [];
  let total = 0;
  for (let r = 0; r < userIds.length; r++) cumulative.push((total += 1 / (r + 1)));
  const byRank = () => {
    const x = next() * total;
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((cumulative[mid] as number) < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };

  const follows: FollowDoc[] = [];
  const followers: FollowerDoc[] = [];
  const followerCount = new Map<string, number>();
  const followingCount = new Map<string, number>();
  for (const followerId of userIds) {
    const want = sizes.minFollows + pick(sizes.maxFollows - sizes.minFollows + 1);
    const chosen = new Set<string>();
    for (
      let tries = 0;
      chosen.size < Math.min(want, userIds.length - 1) && tries < want * 20;
      tries++
    ) {
      const followeeId = userIds[byRank()] as string;
      if (followeeId !== followerId) chosen.add(followeeId);
    }
    followingCount.set(followerId, chosen.size);
    for (const followeeId of chosen) {
      const at = new Date(now - 60 * 86_400_000);
      follows.push({
        shard: shardOfUser(followerId),
        followerId,
        followeeId,
        active: true,
        version: 1,
        synced: true,
        createdAt: at,
        updatedAt: at,
      });
      followers.push({
        shard: shardOfUser(followeeId),
        followeeId,
        followerId,
        active: true,
        version: 1,
        updatedAt: at,
      });
      followerCount.set(followeeId, (followerCount.get(followeeId) ?? 0) + 1);
    }
  }
  const users: UserDoc[] = userIds.map((id) => ({
    _id: id,
    shard: shardOfUser(id),
    username: usernameOf(id),
    createdAt: new Date(now - 90 * 86_400_000),
    followerCount: followerCount.get(id) ?? 0,
    followingCount: followingCount.get(id) ?? 0,
  }));

  // Posts over the last 30 days; authors drawn uniformly, so feeds mix many authors.
  const posts: PostDoc[] = [];
  for (let i = 0; i < sizes.posts; i++) {
    const authorId = userIds[pick(userIds.length)] as string;
    const at = now - Math.floor(next() * 30 * 86_400_000);
    const shard = shardOfUser(authorId);
    posts.push({
      _id: newId(shard, at),
      shard,
      authorId,
      caption: `Post ${i} by ${authorId}`,
      media: [
        {
          kind: 'PHOTO',
          url: `https://media.example.com/bench/${i}.jpg`,
          width: 1080,
          height: 1080,
        },
      ],
      createdAt: new Date(at),
      updatedAt: new Date(at),
    });
  }
  posts.sort((a, b) => (a._id < b._id ? 1 : -1));

  // Likes and comments: a post of a more followed author draws more (weight by author rank).
  const rankOf = new Map(userIds.map((id, rank) => [id, rank]));
  const likes: LikeDoc[] = [];
  const comments: CommentDoc[] = [];
  const likeCounts: Document[] = [];
  const commentCounts: Document[] = [];
  const meanWeight = total / userIds.length;
  for (const post of posts) {
    const weight = 1 / ((rankOf.get(post.authorId) ?? 0) + 1) / meanWeight;
    const expected = (mean: number) =>
      Math.min(userIds.length, Math.round(mean * weight * 2 * next()));
    const shard = shardOfId(post._id);
    const at = post.createdAt.getTime();
    const likers = new Set<string>();
    for (
      let n = expected(sizes.likesPerPost), tries = 0;
      likers.size < n && tries < n * 20;
      tries++
    ) {
      likers.add(userIds[pick(userIds.length)] as string);
    }
    for (const userId of likers) {
      const likedAt = new Date(at + pick(86_400_000));
      likes.push({
        _id: newId(shard, likedAt.getTime()),
        shard,
        postId: post._id,
        userId,
        active: true,
        version: 1,
        synced: true,
        likedAt,
        updatedAt: likedAt,
      });
    }
    const commentTotal = expected(sizes.commentsPerPost);
    for (let c = 0; c < commentTotal; c++) {
      const createdAt = new Date(at + pick(86_400_000));
      const commenter = userIds[pick(userIds.length)] as string;
      comments.push({
        _id: newId(shard, createdAt.getTime()),
        shard,
        postId: post._id,
        postAuthorId: post.authorId,
        authorId: commenter,
        authorUsername: usernameOf(commenter),
        body: `Comment ${c} on ${post._id}`,
        createdAt,
        editedAt: null,
        deleted: false,
        version: 1,
        synced: true,
        updatedAt: createdAt,
      });
    }
    if (likers.size > 0) likeCounts.push({ _id: post._id, shard, likeCount: likers.size });
    if (commentTotal > 0) {
      const ofPost = comments.slice(-commentTotal).sort((a, b) => (a._id < b._id ? -1 : 1));
      commentCounts.push({
        _id: post._id,
        shard,
        commentCount: commentTotal,
        commentHead: ofPost
          .slice(0, HEAD_SIZE)
          .map(({ _id, postId, authorId, authorUsername, body, createdAt, editedAt }) => ({
            _id,
            postId,
            authorId,
            authorUsername,
            body,
            createdAt,
            editedAt,
          })),
      });
    }
  }

  const db = (name: string) => mongo.db(databaseName(dbPrefix, name));
  await Promise.all([
    insertAll(db('feed').collection<UserDoc>('users'), users),
    insertAll(db('feed').collection<PostDoc>('posts'), posts),
    insertAll(db('feed').collection<FollowDoc>('follows'), follows),
    insertAll(db('feed').collection<FollowerDoc>('followers'), followers),
    insertAll(db('likes').collection<LikeDoc>('likes'), likes),
    insertAll(db('likes').collection('like_counts'), likeCounts),
    insertAll(db('comments').collection<CommentDoc>('comments'), comments),
    insertAll(db('comments').collection('comment_counts'), commentCounts),
  ]);
  return {
    userIds,
    postIds: posts.map((post) => post._id),
    celebrities: [...userIds].sort(
      (a, b) => (followerCount.get(b) ?? 0) - (followerCount.get(a) ?? 0),
    ),
    follows: follows.length,
    likes: likes.length,
    comments: comments.length,
  };
}
