import type { Db } from 'mongodb';
import type { Cache } from '../platform/cache.js';
import { signDevToken } from '../platform/auth.js';
import { usersStore } from '../subgraphs/feed/store/users.js';

/**
 * Demo data, written through the gateway like any client would (so it exercises the real write
 * path), except the usernames, which no public mutation sets. Runs once: a store that already has
 * the demo users is left alone.
 */
const USERS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank'] as const;

const FOLLOWS: Record<string, string[]> = {
  alice: ['bob', 'carol', 'dave'],
  bob: ['alice', 'carol'],
  carol: ['alice', 'erin'],
  dave: ['alice', 'bob', 'carol', 'erin', 'frank'],
  erin: ['frank'],
  frank: ['alice'],
};

const CAPTIONS = [
  'Morning light over the harbour',
  'First try at sourdough 🍞',
  'Trail run, 12 km, legs gone',
  'Weekend market haul',
  'Sunset from the roof',
  'New desk setup',
];

const COMMENTS = ['Love this!', 'Where is this?', 'So good 😍', 'Need the recipe', 'Wow'];

export async function seedDemoData(gatewayUrl: string, feedDb: Db, cache: Cache): Promise<boolean> {
  const users = usersStore(feedDb, cache);
  if ((await users.byIds(['alice'])).length > 0) return false;
  for (const user of USERS) await users.ensure(user, user);

  const tokens = new Map<string, string>();
  for (const user of USERS) tokens.set(user, await signDevToken(user));
  async function call(as: string, query: string, variables: Record<string, unknown>) {
    const response = await fetch(gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens.get(as)}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as {
      data?: Record<string, { id: string }>;
      errors?: { message: string }[];
    };
    if (body.errors?.length) throw new Error(`seed: ${body.errors[0]?.message}`);
    if (!body.data) throw new Error(`seed: no data (${response.status})`);
    return body.data;
  }

  for (const [follower, followees] of Object.entries(FOLLOWS)) {
    for (const followee of followees) {
      await call(follower, 'mutation($id: ID!) { followUser(userId: $id) { id } }', {
        id: followee,
      });
    }
  }

  const posts: string[] = [];
  let n = 0;
  for (const author of USERS) {
    for (let i = 0; i < 3; i++, n++) {
      const video = n % 4 === 3;
      const media = video
        ? [
            {
              kind: 'VIDEO',
              url: `https://media.example.com/demo/clip-${n}.mp4`,
              width: 1080,
              height: 1920,
              durationMs: 8_000 + n * 500,
              thumbnailUrl: `https://media.example.com/demo/clip-${n}.jpg`,
            },
          ]
        : [
            {
              kind: 'PHOTO',
              url: `https://media.example.com/demo/photo-${n}.jpg`,
              width: 1080,
              height: 1080,
            },
            ...(n % 3 === 0
              ? [
                  {
                    kind: 'PHOTO',
                    url: `https://media.example.com/demo/photo-${n}b.jpg`,
                    width: 1080,
                    height: 1350,
                  },
                ]
              : []),
          ];
      const data = await call(
        author,
        'mutation($input: CreatePostInput!) { createPost(input: $input) { id } }',
        { input: { caption: CAPTIONS[n % CAPTIONS.length], media } },
      );
      posts.push((data.createPost as { id: string }).id);
    }
  }

  for (const [index, postId] of posts.entries()) {
    const likers = USERS.filter((_, u) => (index + u) % 3 !== 0);
    for (const liker of likers) {
      await call(liker, 'mutation($id: ID!) { likePost(postId: $id) { id } }', { id: postId });
    }
    for (let c = 0; c < index % 4; c++) {
      const commenter = USERS[(index + c + 1) % USERS.length] as string;
      await call(
        commenter,
        'mutation($id: ID!, $body: String!) { addComment(postId: $id, body: $body) { id } }',
        {
          id: postId,
          body: COMMENTS[(index + c) % COMMENTS.length],
        },
      );
    }
  }
  return true;
}
