/**
 * The domain events services exchange: subjects and payloads, one typed contract. Subjects are
 * versioned and end with the post id, so a consumer can listen to one post:
 *
 *   <prefix>.v1.likes.<postId>     LikeEvent     live counts: core pub/sub (the next event carries absolute counts)
 *   <prefix>.v1.comments.<postId>  CommentEvent  live counts and new comments: core pub/sub
 *   <prefix>.v1.posts.<postId>     PostEvent     durable: JetStream, deduplicated on eventId
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

/** `post.created` feeds the timelines (fan-out on write); `post.deleted` makes every subgraph forget. */
export interface PostEvent {
  eventId: string;
  type: 'post.created' | 'post.deleted';
  postId: string;
  /** The post's author, who is also the actor. */
  actorId: string;
  occurredAt: string;
}

export interface Topics {
  likes: LikeEvent;
  comments: CommentEvent;
  posts: PostEvent;
}

export type Topic = keyof Topics;

export function subject(prefix: string, topic: Topic, postId: string): string {
  return `${prefix}.${EVENTS_VERSION}.${topic}.${postId}`;
}

/** Every subject of a topic, for a durable consumer. */
export function topicWildcard(prefix: string, topic: Topic): string {
  return `${prefix}.${EVENTS_VERSION}.${topic}.*`;
}

/** The JetStream stream holding the durable topic. */
export function postsStreamName(prefix: string): string {
  return `${prefix.replace(/[^A-Za-z0-9_-]/g, '_')}_posts`;
}
