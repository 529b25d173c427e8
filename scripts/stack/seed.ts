import type { Db } from 'mongodb';
import sharp from 'sharp';
import type { Cache } from '../../platform/cache.js';
import { signDevToken } from '../../platform/auth.js';
import { usersStore } from '../../subgraphs/feed/store/users.js';

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

  /** A photo of its own for each demo post (a gradient), uploaded as the app would. */
  async function uploadPhoto(as: string, n: number): Promise<string> {
    const hue = (n * 47) % 360;
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="1080" height="1080"><defs><linearGradient id="g" x2="1" y2="1"><stop offset="0" stop-color="hsl(${hue},70%,60%)"/><stop offset="1" stop-color="hsl(${(hue + 80) % 360},70%,35%)"/></linearGradient></defs><rect width="1080" height="1080" fill="url(#g)"/></svg>`;
    const jpeg = await sharp(Buffer.from(svg)).jpeg({ quality: 80 }).toBuffer();
    const form = new FormData();
    form.append('file', new Blob([jpeg], { type: 'image/jpeg' }), `demo-${n}.jpg`);
    const response = await fetch(new URL('/assets', gatewayUrl), {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.get(as)}` },
      body: form,
    });
    if (response.status !== 201) throw new Error(`seed: upload answered ${response.status}`);
    return ((await response.json()) as { id: string }).id;
  }

  const posts: string[] = [];
  let n = 0;
  for (const author of USERS) {
    for (let i = 0; i < 3; i++, n++) {
      // Every third post has two photos.
      const media = [{ assetId: await uploadPhoto(author, n) }];
      if (n % 3 === 0) media.push({ assetId: await uploadPhoto(author, n + 100) });
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
