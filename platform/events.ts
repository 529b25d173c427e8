/**
 * The domain events services exchange: subjects and payloads, one typed contract. Subjects are
 * versioned and end with the post id, so a consumer can listen to one post:
 *
 *   <prefix>.v1.likes.<postId>     LikeEvent     live counts: core pub/sub (the next event carries absolute counts)
 *   <prefix>.v1.comments.<postId>  CommentEvent  live counts and new comments: core pub/sub
 *   <prefix>.v1.posts.<postId>     PostEvent     durable: JetStream, deduplicated on eventId
 *   <prefix>.v1.assets.<assetId>   AssetEvent    durable: JetStream, deduplicated on eventId
 *   <prefix>.v1.post-likes.<postId>     LikeActivity     durable: notifications
 *   <prefix>.v1.post-comments.<postId>  CommentActivity  durable: notifications, commentAdded replay
 *   <prefix>.v1.follows.<shard>         FollowEvent      durable: notifications (the followee's logical shard)
 *   <prefix>.v1.notifications.<userId>  NotificationsEvent  live: the recipient's screens
 *
 * Counts in events are absolute, with the ticket of the recount that produced them (`*Seq`,
 * increasing per post), so a consumer that sees events out of order keeps the newest.
 */
export const EVENTS_VERSION = 'v1';

export interface LikeEvent {
  eventId: string;
  type: 'post.liked' | 'post.unliked';
  postId: string;
  actorId: string;
  likeCount: number;
  likeSeq: number;
  occurredAt: string;
}

export interface CommentEvent {
  eventId: string;
  type: 'comment.created' | 'comment.edited' | 'comment.deleted';
  postId: string;
  commentId: string;
  actorId: string;
  commentCount: number;
  commentSeq: number;
  occurredAt: string;
}

/**
 * A like or unlike on the durable topic, for the post's author's notifications. The event id is
 * derived from the like row and its version, so a repair pass that announces it again is dropped
 * by JetStream.
 */
export interface LikeActivity extends LikeEvent {
  postAuthorId: string;
}

/** A comment added, edited or deleted on the durable topic; `mentions` are usernames in its body. */
export interface CommentActivity extends CommentEvent {
  postAuthorId: string;
  mentions: string[];
}

/** A follow or unfollow, with the followee's follower count and the ticket of its recount. */
export interface FollowEvent {
  eventId: string;
  type: 'user.followed' | 'user.unfollowed';
  followeeId: string;
  actorId: string;
  followerCount: number;
  followerSeq: number;
  occurredAt: string;
}

/**
 * `post.created` feeds the timelines (fan-out on write); `post.edited` (a new caption) tells the
 * users it newly mentions; `post.deleted` makes every subgraph forget.
 */
export interface PostEvent {
  eventId: string;
  type: 'post.created' | 'post.edited' | 'post.deleted';
  postId: string;
  /** The post's author, who is also the actor. */
  actorId: string;
  /** Usernames mentioned in the caption (`post.created`, `post.edited`: the whole new caption). */
  mentions?: string[];
  occurredAt: string;
}

/** An uploaded photo or video is stored: its metadata and thumbnail are to be extracted. */
export interface AssetEvent {
  eventId: string;
  type: 'asset.stored';
  assetId: string;
  actorId: string;
  occurredAt: string;
}

/** Live: the recipient's notifications changed (a new one, one taken back, one read). */
export interface NotificationsEvent {
  eventId: string;
  type: 'notifications.changed';
  recipientId: string;
  unreadCount: number;
  /** The newest notification, if any. */
  latestId: string | null;
  occurredAt: string;
}

export interface Topics {
  likes: LikeEvent;
  comments: CommentEvent;
  posts: PostEvent;
  assets: AssetEvent;
  'post-likes': LikeActivity;
  'post-comments': CommentActivity;
  follows: FollowEvent;
  notifications: NotificationsEvent;
}

export type Topic = keyof Topics;

/** `key` is the post id, the asset id for `assets`, the followee's logical shard for `follows`. */
export function subject(prefix: string, topic: Topic, key: string): string {
  return `${prefix}.${EVENTS_VERSION}.${topic}.${key}`;
}

/** Every subject of a topic, for a durable consumer. */
export function topicWildcard(prefix: string, topic: Topic): string {
  return `${prefix}.${EVENTS_VERSION}.${topic}.*`;
}

/** The topics carried by JetStream (platform/durable-events.ts). */
export type DurableTopic = 'posts' | 'assets' | 'post-likes' | 'post-comments' | 'follows';

/** The JetStream stream holding a durable topic. */
export function streamName(prefix: string, topic: DurableTopic): string {
  return `${prefix.replace(/[^A-Za-z0-9_-]/g, '_')}_${topic}`;
}
