import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Db } from 'mongodb';
import { publishLikeActivity } from '../../platform/durable-events.js';
import { newId, shardOfId, shardOfUser } from '../../platform/ids.js';
import { createLogger } from '../../platform/logger.js';
import { commentsEvents } from '../../subgraphs/comments/events.js';
import { commentsStores } from '../../subgraphs/comments/stores.js';
import { feedEvents, followAnnouncer } from '../../subgraphs/feed/events.js';
import { feedStores } from '../../subgraphs/feed/stores.js';
import { usersStore } from '../../subgraphs/feed/store/users.js';
import { likesEvents } from '../../subgraphs/likes/events.js';
import { likesStores } from '../../subgraphs/likes/stores.js';
import { codes, ok, startStack, type TestStack } from '../helpers/stack.js';
import { until, wsClient } from '../helpers/ws.js';
import { createPost, inBatches, uid } from './support.js';

let stack: TestStack;

before(async () => {
  stack = await startStack();
});

after(async () => {
  await stack.stop();
});

const NOTIFICATIONS = `query($first: Int) {
  notifications(first: $first) {
    unreadCount
    edges { cursor node {
      id kind read actorCount updatedAt
      actors(first: 10) { id }
      post { id caption }
      comment { id body }
    } }
    pageInfo { hasNextPage endCursor }
  }
}`;

interface Note {
  id: string;
  kind: string;
  read: boolean;
  actorCount: number;
  actors: { id: string }[];
  post: { id: string; caption: string | null } | null;
  comment: { id: string; body: string } | null;
}

async function notificationsOf(user: string, first = 50) {
  const { notifications } = ok(await stack.gql(NOTIFICATIONS, { first }, { as: user }));
  return notifications as { unreadCount: number; edges: { node: Note }[] };
}

async function nodesOf(user: string): Promise<Note[]> {
  return (await notificationsOf(user)).edges.map((edge) => edge.node);
}

const db = (name: string): Db => stack.mongo.db(`${stack.dbPrefix}_${name}`);

/** A user with a username (a mention's characters: no `-`); the id is the name. */
async function userWithName(label: string): Promise<string> {
  const name = uid(label).replace('-', '_');
  await usersStore(db('feed'), stack.cache).ensure(name, name);
  return name;
}

const like = (postId: string, as: string) =>
  stack.gql('mutation($id: ID!) { likePost(postId: $id) { likeCount } }', { id: postId }, { as });
const unlike = (postId: string, as: string) =>
  stack.gql('mutation($id: ID!) { unlikePost(postId: $id) { likeCount } }', { id: postId }, { as });
const comment = async (postId: string, as: string, body: string) =>
  ok(
    await stack.gql(
      'mutation($id: ID!, $body: String!) { addComment(postId: $id, body: $body) { id } }',
      { id: postId, body },
      { as },
    ),
  ).addComment.id as string;

/** Waits until `user`'s notifications satisfy `check`, then returns them. */
async function waitFor(user: string, what: string, check: (nodes: Note[]) => boolean) {
  let nodes: Note[] = [];
  await until(what, async () => check((nodes = await nodesOf(user))), 15_000);
  return nodes;
}

test('likes of one post make one notification, newest actors first, with a count', async () => {
  const author = uid('author');
  const post = await createPost(stack, author);
  const likers = [uid('l1'), uid('l2'), uid('l3'), uid('l4')];
  for (const liker of likers) ok(await like(post.id, liker));
  const [note] = await waitFor(author, 'four likes', (n) => n[0]?.actorCount === 4);
  assert.equal(note?.kind, 'LIKE');
  assert.equal(note?.post?.id, post.id);
  assert.equal(note?.read, false);
  assert.deepEqual(
    note?.actors.map((actor) => actor.id),
    [...likers].reverse(),
  );
  assert.equal((await nodesOf(author)).length, 1, 'one notification for all the likes');
  assert.equal((await notificationsOf(author)).unreadCount, 1);
});

test('an unlike before the notification is read takes that actor out', async () => {
  const author = uid('author');
  const post = await createPost(stack, author);
  const [a, b] = [uid('a'), uid('b')];
  ok(await like(post.id, a));
  ok(await like(post.id, b));
  await waitFor(author, 'two likes', (n) => n[0]?.actorCount === 2);
  ok(await unlike(post.id, b));
  const [note] = await waitFor(author, 'the unlike', (n) => n[0]?.actorCount === 1);
  assert.deepEqual(
    note?.actors.map((actor) => actor.id),
    [a],
  );
  ok(await unlike(post.id, a));
  await waitFor(author, 'no actor left', (n) => n.length === 0);
});

test('no one is notified of their own like, comment or mention', async () => {
  const author = await userWithName('self');
  const post = await createPost(stack, author, { caption: `me @${author}` });
  ok(await like(post.id, author));
  await comment(post.id, author, `note to @${author}`);
  // Someone else's like afterwards: once it shows, everything before it has been handled.
  const other = uid('other');
  ok(await like(post.id, other));
  const nodes = await waitFor(author, "the other's like", (n) => n.length > 0);
  assert.equal(nodes.length, 1);
  assert.equal(nodes[0]?.actorCount, 1, 'the own like is not counted');
  assert.deepEqual(
    nodes[0]?.actors.map((actor) => actor.id),
    [other],
  );
});

test('each comment is its own notification; a deleted comment takes its notification away', async () => {
  const author = uid('author');
  const post = await createPost(stack, author);
  const first = await comment(post.id, uid('c1'), 'first!');
  const second = await comment(post.id, uid('c2'), 'second');
  const nodes = await waitFor(author, 'two comments', (n) => n.length === 2);
  // Pages by cursor, newest first.
  const page = (after?: string) =>
    stack.gql(
      'query($after: String) { notifications(first: 1, after: $after) { edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }',
      { after },
      { as: author },
    );
  const top = ok(await page()).notifications;
  assert.equal(top.pageInfo.hasNextPage, true);
  const next = ok(await page(top.pageInfo.endCursor)).notifications;
  assert.deepEqual(
    [...top.edges, ...next.edges].map((edge: { node: { id: string } }) => edge.node.id),
    nodes.map((node) => node.id),
  );
  assert.equal(next.pageInfo.hasNextPage, false);
  assert.deepEqual(codes(await page('bogus')), ['BAD_USER_INPUT']);
  assert.deepEqual(
    nodes.map((node) => [node.kind, node.comment?.id, node.comment?.body, node.post?.id]),
    [
      ['COMMENT', second, 'second', post.id],
      ['COMMENT', first, 'first!', post.id],
    ],
  );
  ok(
    await stack.gql('mutation($id: ID!) { deleteComment(id: $id) }', { id: first }, { as: author }),
  );
  await waitFor(
    author,
    'the deleted comment gone',
    (n) => n.length === 1 && n[0]?.comment?.id === second,
  );
});

test('follows are grouped per recipient; an unfollow before reading takes its actor out', async () => {
  const star = await userWithName('star');
  const fans = [uid('f1'), uid('f2'), uid('f3')];
  const follow = (fan: string, field: 'followUser' | 'unfollowUser') =>
    stack.gql(`mutation($id: ID!) { ${field}(userId: $id) { id } }`, { id: star }, { as: fan });
  for (const fan of fans) ok(await follow(fan, 'followUser'));
  const [note] = await waitFor(star, 'three follows', (n) => n[0]?.actorCount === 3);
  assert.equal(note?.kind, 'FOLLOW');
  assert.equal(note?.post, null);
  assert.deepEqual(
    note?.actors.map((actor) => actor.id),
    [...fans].reverse(),
  );
  ok(await follow(fans[1] as string, 'unfollowUser'));
  const [after] = await waitFor(star, 'the unfollow', (n) => n[0]?.actorCount === 2);
  assert.deepEqual(
    after?.actors.map((actor) => actor.id),
    [fans[2], fans[0]],
  );
});

test('mentions in a caption and in a comment each notify the user named, once', async () => {
  const author = uid('author');
  const named = uid('named').replace('-', '_');
  await usersStore(db('feed'), stack.cache).ensure(named, `${named}.Name`);
  const alsoNamed = await userWithName('also');
  const post = await createPost(stack, author, {
    caption: `with @${named}.name and @${alsoNamed}, not @nobody_${named} nor mail@${alsoNamed}.com`,
  });
  const commentId = await comment(post.id, uid('c'), `look @${named}.NAME @${named}.name.`);
  const nodes = await waitFor(named, 'two mentions', (n) => n.length === 2);
  assert.deepEqual(
    nodes.map((node) => [node.kind, node.post?.id, node.comment?.id ?? null]),
    [
      ['MENTION', post.id, commentId],
      ['MENTION', post.id, null],
    ],
  );
  const also = await waitFor(alsoNamed, 'the caption mention', (n) => n.length === 1);
  assert.deepEqual(also[0]?.actors, [{ id: author }]);
});

test('only the recipient reads their notifications', async () => {
  const author = uid('author');
  const post = await createPost(stack, author);
  ok(await like(post.id, uid('l')));
  const [note] = await waitFor(author, 'the like', (n) => n.length === 1);
  assert.deepEqual(codes(await stack.gql(NOTIFICATIONS, {})), ['UNAUTHENTICATED']);
  const stranger = uid('stranger');
  assert.deepEqual(await nodesOf(stranger), []);
  // Through the entity path too: another user gets nothing back for the id.
  const entities = await stack.gql(
    'query($r: [_Any!]!) { _entities(representations: $r) { ... on Notification { id kind } } }',
    { r: [{ __typename: 'Notification', id: note?.id }] },
    { as: stranger, url: stack.urls.notifications },
  );
  assert.deepEqual(ok(entities)._entities, [null]);
  assert.deepEqual(
    codes(
      await stack.gql(
        'mutation($id: ID) { markNotificationsRead(upTo: $id) }',
        { id: note?.id },
        { as: stranger },
      ),
    ),
    ['NOT_FOUND'],
  );
});

test('markNotificationsRead marks up to a notification, or all; a like after reading starts a new count', async () => {
  const author = uid('author');
  const older = await createPost(stack, author);
  const newer = await createPost(stack, author);
  ok(await like(older.id, uid('a')));
  await waitFor(author, 'the first', (n) => n.length === 1);
  ok(await like(newer.id, uid('b')));
  const nodes = await waitFor(author, 'the second', (n) => n.length === 2);
  const mark = (upTo?: string) =>
    stack.gql(
      'mutation($id: ID) { markNotificationsRead(upTo: $id) }',
      { id: upTo },
      { as: author },
    );
  assert.equal(ok(await mark(nodes[1]?.id)).markNotificationsRead, 1);
  let after = await nodesOf(author);
  assert.deepEqual(
    after.map((node) => node.read),
    [false, true],
  );
  assert.equal(ok(await mark()).markNotificationsRead, 0);
  assert.equal((await notificationsOf(author)).unreadCount, 0);
  assert.deepEqual(codes(await mark('nope')), ['NOT_FOUND']);
  // A new like on the read post: a new unread notification with only the new actor.
  const late = uid('late');
  ok(await like(older.id, late));
  after = await waitFor(author, 'the reopened notification', (n) => n[0]?.read === false);
  assert.equal(after[0]?.post?.id, older.id);
  assert.equal(after[0]?.actorCount, 1);
  assert.deepEqual(after[0]?.actors, [{ id: late }]);
});

test("a deleted post's notifications disappear, mentions included", async () => {
  const author = uid('author');
  const named = await userWithName('named');
  const post = await createPost(stack, author, { caption: `hi @${named}` });
  ok(await like(post.id, uid('l')));
  await comment(post.id, uid('c'), 'nice');
  await waitFor(author, 'like and comment', (n) => n.length === 2);
  await waitFor(named, 'the mention', (n) => n.length === 1);
  ok(
    await stack.gql('mutation($id: ID!) { deletePost(id: $id) }', { id: post.id }, { as: author }),
  );
  await waitFor(author, "the author's gone", (n) => n.length === 0);
  await waitFor(named, 'the mention gone', (n) => n.length === 0);
});

test("a like consumed after its post's deletion brings no notification back", async () => {
  const author = uid('author');
  const post = await createPost(stack, author);
  const liker = uid('l');
  ok(await like(post.id, liker));
  await waitFor(author, 'the like', (n) => n.length === 1);
  ok(
    await stack.gql('mutation($id: ID!) { deletePost(id: $id) }', { id: post.id }, { as: author }),
  );
  await waitFor(author, 'the like gone with the post', (n) => n.length === 0);
  // Another like of the deleted post whose event was held up (another process, a redelivery).
  const events = await stack.connectEvents('late-like');
  try {
    await publishLikeActivity(events, {
      eventId: uid('e'),
      type: 'post.liked',
      postId: post.id,
      postAuthorId: author,
      actorId: uid('late'),
      likeCount: 2,
      likeSeq: 2,
      occurredAt: new Date().toISOString(),
    });
  } finally {
    await events.close();
  }
  // A marker after it on the same topic: once it shows, the late event was handled.
  const other = await createPost(stack, author);
  ok(await like(other.id, uid('m')));
  const notes = await waitFor(author, 'the marker', (n) =>
    n.some((note) => note.post?.id === other.id),
  );
  assert.deepEqual(
    notes.map((note) => note.post?.id ?? null),
    [other.id],
  );
});

test('a redelivered event changes nothing', async () => {
  const author = uid('author');
  const post = await createPost(stack, author);
  const liker = uid('l');
  ok(await like(post.id, liker));
  await waitFor(author, 'the like', (n) => n[0]?.actorCount === 1);
  const events = await stack.connectEvents('redeliver');
  // The same like again under fresh event ids (JetStream's dedup would drop the same id).
  const again = {
    type: 'post.liked' as const,
    postId: post.id,
    postAuthorId: author,
    actorId: liker,
    likeCount: 1,
    likeSeq: 1,
    occurredAt: new Date().toISOString(),
  };
  for (let i = 0; i < 3; i++) await publishLikeActivity(events, { ...again, eventId: uid('e') });
  // A marker after them on the same post: once it is counted, the repeats were handled.
  const marker = uid('m');
  ok(await like(post.id, marker));
  const [note] = await waitFor(author, 'the marker', (n) => n[0]?.actorCount === 2);
  assert.deepEqual(note?.actors, [{ id: marker }, { id: liker }]);
  await events.close();
});

test('likes while the notifications service is down make one notification with their count', async () => {
  const author = uid('author');
  const post = await createPost(stack, author);
  await stack.subgraphs.notifications.stop();
  await inBatches(
    Array.from({ length: 50 }, (_, i) => uid(`o${i}`)),
    10,
    async (liker) => ok(await like(post.id, liker)),
  );
  await stack.restartNotifications();
  const nodes = await waitFor(author, 'fifty likes', (n) => n[0]?.actorCount === 50);
  assert.equal(nodes.length, 1);
  assert.equal(nodes[0]?.actors.length, 10, 'the latest ten actors are kept');
});

test('notificationsChanged pushes the unread count and newest notification to the recipient only', async () => {
  const author = uid('author');
  const post = await createPost(stack, author);
  const query = `subscription { notificationsChanged { unreadCount latest { kind actorCount post { id } } } }`;
  const mine = wsClient(stack.gatewayUrl, await stack.token(author));
  const theirs = wsClient(stack.gatewayUrl, await stack.token(uid('other')));
  const received = mine.subscribe(query);
  const others = theirs.subscribe(query);
  const lastOf = (r: typeof received) => r.results.at(-1)?.data?.notificationsChanged;
  await until('the current badge', () => lastOf(received)?.unreadCount === 0);
  await until("the other's badge", () => lastOf(others)?.unreadCount === 0);
  ok(await like(post.id, uid('l')));
  await until('the push', () => lastOf(received)?.latest?.actorCount === 1);
  assert.deepEqual(lastOf(received), {
    unreadCount: 1,
    latest: { kind: 'LIKE', actorCount: 1, post: { id: post.id } },
  });
  ok(await stack.gql('mutation { markNotificationsRead }', {}, { as: author }));
  await until('the read badge', () => lastOf(received)?.unreadCount === 0);
  assert.equal(others.results.length, 1, 'nothing reaches another user');
  await mine.close();
  await theirs.close();
});

/** The notifications database's write commands since `from` (an index into allCommands). */
function notificationWrites(from: number) {
  return stack.allCommands
    .slice(from)
    .filter(
      (event) =>
        event.databaseName === `${stack.dbPrefix}_notifications` &&
        ['insert', 'update', 'delete', 'findAndModify'].includes(event.commandName),
    );
}

test('a storm of likes on one post costs a few group-committed writes to its notification', async () => {
  const author = uid('viral');
  const post = await createPost(stack, author);
  await stack.subgraphs.notifications.stop();
  const events = await stack.connectEvents('storm');
  // As the likes subgraph announces them: 2,000 likes, each by a new user, straight onto the topic.
  const likes = 2_000;
  const run = uid('storm');
  await inBatches(
    Array.from({ length: likes }, (_, i) => i + 1),
    200,
    async (count) => {
      const event = {
        eventId: `${run}-${count}`,
        type: 'post.liked' as const,
        postId: post.id,
        postAuthorId: author,
        actorId: `fan-${count}`,
        likeCount: count,
        likeSeq: count,
        occurredAt: new Date().toISOString(),
      };
      // A loaded NATS may time out: published again under the same id, as the repair pass does.
      for (let attempt = 1; ; attempt++) {
        try {
          return await publishLikeActivity(events, event);
        } catch (error) {
          if (attempt === 3) throw error;
        }
      }
    },
  );
  await events.close();
  const from = stack.allCommands.length;
  await stack.restartNotifications();
  const [note] = await waitFor(author, 'every like counted', (n) => n[0]?.actorCount === likes);
  assert.deepEqual(note?.actors[0], { id: `fan-${likes}` });
  const writes = notificationWrites(from).length;
  assert.ok(writes <= likes / 100, `${writes} writes for ${likes} likes`);
});

test('a caption mentioning 20 users makes their 20 notifications in one command', async () => {
  const named = await Promise.all(Array.from({ length: 20 }, (_, i) => userWithName(`m${i}`)));
  const from = stack.allCommands.length;
  await createPost(stack, uid('author'), { caption: named.map((name) => `@${name}`).join(' ') });
  for (const name of named) await waitFor(name, `${name}'s mention`, (n) => n.length === 1);
  const writes = notificationWrites(from);
  assert.equal(writes.length, 1);
  assert.equal((writes[0]?.command.updates as unknown[]).length, 20);
});

const editCaption = (postId: string, as: string, caption: string) =>
  stack.gql(
    'mutation($id: ID!, $caption: String) { updatePost(id: $id, caption: $caption) { caption } }',
    { id: postId, caption },
    { as },
  );

test('an edited caption notifies the users it newly mentions, once each, never its author', async () => {
  const author = await userWithName('writer');
  const before = await userWithName('before');
  const added = await userWithName('added');
  const later = await userWithName('later');
  const post = await createPost(stack, author, { caption: `with @${before}` });
  await waitFor(before, 'the first mention', (n) => n.length === 1);
  ok(await editCaption(post.id, author, `with @${before} and @${added}, by @${author}`));
  // One event names all three: once the new mention shows, the others were handled too.
  const [mention] = await waitFor(added, 'the new mention', (n) => n.length === 1);
  assert.deepEqual(
    [mention?.kind, mention?.post?.id, mention?.comment, mention?.actors],
    ['MENTION', post.id, null, [{ id: author }]],
  );
  assert.equal((await nodesOf(before)).length, 1, 'already mentioned: not notified again');
  assert.deepEqual(await nodesOf(author), [], 'the author mentioning themself');
  ok(await editCaption(post.id, author, `again @${added} @${before} @${later}`));
  await waitFor(later, 'the third mention', (n) => n.length === 1);
  assert.equal((await notificationsOf(added)).unreadCount, 1, 'a second edit: still one');
  assert.equal((await nodesOf(before)).length, 1);
  // A comment's edit likewise, on its own durable topic.
  const commentId = await comment(post.id, author, 'first thoughts');
  ok(
    await stack.gql(
      'mutation($id: ID!, $body: String!) { editComment(id: $id, body: $body) { id } }',
      { id: commentId, body: `second thoughts, @${later}` },
      { as: author },
    ),
  );
  const [inComment] = await waitFor(later, 'the comment mention', (n) => n.length === 2);
  assert.equal(inComment?.comment?.id, commentId);
});

test('a caption or comment edit a crash left unannounced is announced by the repair pass', async () => {
  const author = uid('author');
  const [inCaption, inComment] = [await userWithName('late'), await userWithName('later')];
  const post = await createPost(stack, author, { caption: 'no one yet' });
  const commentId = await comment(post.id, uid('c'), 'no one either');
  // As an edit leaves its row when the process dies before the announcement.
  const anHourAgo = new Date(Date.now() - 3_600_000);
  const posts = db('feed').collection('posts');
  const postKey = { shard: shardOfId(post.id), _id: post.id as never };
  await posts.updateOne(postKey, {
    $set: { caption: `now @${inCaption}`, updatedAt: anHourAgo, editUnannounced: true },
  });
  const comments = db('comments').collection('comments');
  const commentKey = { shard: shardOfId(commentId), _id: commentId as never };
  await comments.updateOne(commentKey, {
    $set: { body: `now @${inComment}`, editedAt: anHourAgo, editUnannounced: true },
  });
  const events = await stack.connectEvents('repair-edits');
  const feed = feedStores(db('feed'), {
    timelineLength: 800,
    timelineMaxAgeDays: 7,
    cache: stack.cache,
    announceFollow: followAnnouncer(events),
  });
  await feedEvents(events, feed.posts, createLogger('test', 'silent')).repair(60_000);
  await commentsStores(db('comments'), stack.cache, commentsEvents(events).announce).repair(60_000);
  const [captionMention] = await waitFor(inCaption, 'the caption', (n) => n.length === 1);
  assert.deepEqual([captionMention?.post?.id, captionMention?.comment], [post.id, null]);
  const [commentMention] = await waitFor(inComment, 'the comment', (n) => n.length === 1);
  assert.equal(commentMention?.comment?.id, commentId);
  assert.equal((await posts.findOne(postKey))?.editUnannounced, undefined, 'announced once');
  assert.equal((await comments.findOne(commentKey))?.editUnannounced, undefined);
  await events.close();
});

test('the repair passes announce unsynced likes, follows, comments and new posts in the order they were written', async () => {
  const author = await userWithName('owner');
  const post = await createPost(stack, author);
  const named = await userWithName('tagged');
  const events = await stack.connectEvents('repair-order');
  const logger = createLogger('test', 'silent');
  // Written an hour ago, a minute apart: x, then y, then z. Each collection gets them newest
  // first, and ids that sort the same way, so neither storage order nor id order is the answer.
  const written = ['x', 'y', 'z'].map((label, i) => ({
    actor: uid(label),
    at: new Date(Date.now() - 3_600_000 + i * 60_000),
    idAt: Date.now() - 3_600_000 + (2 - i) * 60_000,
  }));
  const newestFirst = [...written].reverse();
  await db('likes')
    .collection('likes')
    .insertMany(
      newestFirst.map(({ actor, at, idAt }) => ({
        _id: newId(shardOfId(post.id), idAt) as never,
        shard: shardOfId(post.id),
        postId: post.id,
        userId: actor,
        postAuthorId: author,
        active: true,
        version: 1,
        synced: false,
        likedAt: at,
        updatedAt: at,
      })),
    );
  await db('feed')
    .collection('follows')
    .insertMany(
      newestFirst.map(({ actor, at }) => ({
        shard: shardOfUser(actor),
        followerId: actor,
        followeeId: author,
        active: true,
        version: 1,
        synced: false,
        createdAt: at,
        updatedAt: at,
      })),
    );
  const comments = newestFirst.map(({ actor, at, idAt }) => ({
    _id: newId(shardOfId(post.id), idAt),
    shard: shardOfId(post.id),
    postId: post.id,
    postAuthorId: author,
    authorId: actor,
    body: `by ${actor}`,
    createdAt: at,
    editedAt: null,
    deleted: false,
    version: 1,
    synced: false,
    updatedAt: at,
  }));
  await db('comments')
    .collection('comments')
    .insertMany(comments.map((row) => ({ ...row, _id: row._id as never })));
  // Posts by the three, each mentioning `named`, never announced; a post's id is its creation time.
  const posts = newestFirst.map(({ actor, at }) => ({
    _id: newId(shardOfUser(actor), at.getTime()),
    shard: shardOfUser(actor),
    authorId: actor,
    caption: `hey @${named}`,
    media: [],
    createdAt: at,
    updatedAt: at,
    unannounced: true,
  }));
  await db('feed')
    .collection('posts')
    .insertMany(posts.map((row) => ({ ...row, _id: row._id as never })));

  const likes = likesStores(db('likes'), stack.cache, likesEvents(events).announce);
  const commentEvents = commentsEvents(events);
  const commentStores = commentsStores(db('comments'), stack.cache, commentEvents.announce);
  const feed = feedStores(db('feed'), {
    timelineLength: 800,
    timelineMaxAgeDays: 7,
    cache: stack.cache,
    announceFollow: followAnnouncer(events),
  });
  await likes.repair(60_000);
  await commentStores.repair(60_000);
  await feed.follows.repair(60_000);
  await feedEvents(events, feed.posts, logger).repair(60_000);

  const latestFirst = newestFirst.map(({ actor }) => ({ id: actor }));
  const nodes = await waitFor(
    author,
    'three likes, three follows and three comments',
    (n) =>
      n.filter((node) => node.kind === 'COMMENT').length === 3 &&
      n.some((node) => node.kind === 'LIKE' && node.actorCount === 3) &&
      n.some((node) => node.kind === 'FOLLOW' && node.actorCount === 3),
  );
  const ofKind = (kind: string) => nodes.filter((node) => node.kind === kind);
  assert.deepEqual(ofKind('LIKE')[0]?.actors, latestFirst, 'likes: the latest liker first');
  assert.deepEqual(ofKind('FOLLOW')[0]?.actors, latestFirst, 'follows: the latest follower first');
  assert.deepEqual(
    ofKind('COMMENT').map((node) => node.comment?.id),
    comments.map((row) => row._id),
    'comments: the latest comment on top',
  );
  const mentions = await waitFor(named, 'three mentions', (n) => n.length === 3);
  assert.deepEqual(
    mentions.map((node) => node.post?.id),
    posts.map((row) => row._id),
    'new posts: the latest post on top',
  );
  await events.close();
});
