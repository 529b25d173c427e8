import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import {
  chromium,
  type Browser,
  type BrowserContext,
  type Page,
  type WebSocketRoute,
} from 'playwright-core';
import { loadTrustedDocuments, type TrustedDocuments } from '../../gateway/trusted-documents.js';
import { DEV_JWT_SECRET } from '../../platform/auth.js';
import { projectPath } from '../../platform/paths.js';
import { freePort } from '../../scripts/stack/services.js';
import {
  buildWebApp,
  serveWebApp,
  WEB_DIST,
  type WebAppServer,
} from '../../scripts/stack/web-app.js';
import { makeImage, uploadTo } from '../helpers/media.js';
import { ok, startStack, type TestStack } from '../helpers/stack.js';
import { until } from '../helpers/ws.js';

/**
 * The web app in Debian's Chromium, driven by playwright-core, against the whole supergraph: the
 * built app on its own origin (CORS), signed in through the dev token route, with the gateway
 * running nothing but the app's trusted documents. Alice and Bob each have a browser context.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const POSTS = 24;
const JS_BUDGET_BYTES = 200 * 1024;

let stack: TestStack;
let web: WebAppServer;
let browser: Browser;
let trusted: TrustedDocuments;
let alice: { context: BrowserContext; page: Page };
let bob: { context: BrowserContext; page: Page };
/** Alice's WebSockets pass through here, so a test can cut them and refuse new ones. */
const sockets: WebSocketRoute[] = [];
/** What the gateway pushed to alice's page, in order. */
const alicesFrames: string[] = [];
let socketsCut = false;
const postIds: string[] = [];

before(async () => {
  const webPort = await freePort();
  const webOrigin = `http://127.0.0.1:${webPort}`;
  trusted = await loadTrustedDocuments(projectPath('web/src/gql/persisted-documents.json'), false);
  const [built] = await Promise.all([
    buildWebApp(),
    startStack({
      web: {
        cors: { origins: [webOrigin], maxAgeSeconds: 600 },
        devTokenSecret: DEV_JWT_SECRET,
        trustedDocuments: trusted,
      },
    }).then((started) => (stack = started)),
  ]);
  if (built) console.log('built the web app');
  web = await serveWebApp({
    host: '127.0.0.1',
    port: webPort,
    gatewayUrl: new URL(stack.gatewayUrl).origin,
  });

  const photo = await uploadTo(stack, await makeImage(64, 48, 'png'), { as: 'alice' });
  assert.equal(photo.status, 201);
  for (let i = 1; i <= POSTS; i++) {
    const { createPost } = ok(
      await stack.gql(
        'mutation($input: CreatePostInput!) { createPost(input: $input) { id } }',
        { input: { caption: `post ${i}`, media: [{ assetId: photo.body.id }] } },
        { as: 'alice' },
      ),
    );
    postIds.push(createPost.id);
  }
  ok(await stack.gql('mutation { followUser(userId: "alice") { id } }', {}, { as: 'bob' }));
  // From here on the gateway runs the app's operations only, as in production.
  trusted.only = true;

  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  const open = async () => {
    const context = await browser.newContext({ viewport: { width: 800, height: 900 } });
    return { context, page: await context.newPage() };
  };
  alice = await open();
  alice.page.on('websocket', (socket) =>
    socket.on('framereceived', ({ payload }) => alicesFrames.push(String(payload))),
  );
  await alice.context.routeWebSocket(/\/graphql$/, (socket) => {
    if (socketsCut) {
      void socket.close();
      return;
    }
    sockets.push(socket);
    socket.connectToServer();
  });
  bob = await open();
});

after(async () => {
  await browser?.close();
  await web?.stop();
  await stack?.stop();
});

async function signIn(page: Page, userId: string) {
  await page.goto(web.url);
  await page.getByRole('button', { name: userId, exact: true }).click();
  await page.locator('[data-testid=post]').first().waitFor();
}

const post = (page: Page, id: string) => page.locator(`[data-post-id="${id}"]`);
/** The bell's unread count, once it reads `count`. */
const unread = (page: Page, count: number) =>
  page.getByTestId('unread-count').filter({ hasText: new RegExp(`^${count}$`) });
const newest = () => postIds[postIds.length - 1] as string;

test('the app: JavaScript within its gzipped budget', async () => {
  const dir = join(WEB_DIST, 'assets');
  let gzipped = 0;
  for (const file of (await readdir(dir)).filter((name) => name.endsWith('.js')))
    gzipped += gzipSync(await readFile(join(dir, file))).length;
  console.log(`web app JavaScript, gzipped: ${(gzipped / 1024).toFixed(1)} KB (budget 200 KB)`);
  assert.ok(gzipped <= JS_BUDGET_BYTES);
});

test('alice signs in, her feed renders, and scrolling loads every page once', async () => {
  await signIn(alice.page, 'alice');
  await alice.page.reload();
  await alice.page.locator('[data-testid=post]').first().waitFor();
  const firstRender = await alice.page.evaluate(() => performance.now());
  console.log(`navigation to first feed render: ${Math.round(firstRender)} ms`);

  const caughtUp = alice.page.getByText('You are all caught up.');
  for (let i = 0; i < 20 && !(await caughtUp.isVisible()); i++) {
    await alice.page.locator('[data-testid=post]').last().scrollIntoViewIfNeeded();
    await alice.page.waitForTimeout(200);
  }
  const shown = await alice.page
    .locator('[data-testid=post]')
    .evaluateAll((nodes) => nodes.map((node: any) => node.dataset.postId as string));
  assert.equal(new Set(shown).size, shown.length, 'no post twice');
  assert.deepEqual(shown, [...postIds].reverse(), 'every post, newest first');
});

test('bob likes and comments on alice’s post: alice sees both within 2 s, without a reload', async () => {
  const id = newest();
  await alice.page.locator('[data-testid=post]').first().scrollIntoViewIfNeeded();
  await post(alice.page, id).getByTestId('comments-toggle').click();
  await post(alice.page, id).getByTestId('comment-input').waitFor();
  // The counts subscription follows the posts on screen once scrolling settles.
  await alice.page.waitForTimeout(500);

  await signIn(bob.page, 'bob');
  const bobs = post(bob.page, id);
  await bobs.getByTestId('like-button').click();
  await bobs.locator('[data-testid=like-button][aria-pressed=true]').waitFor();
  await bobs.getByTestId('comments-toggle').click();
  await bobs.getByTestId('comment-input').fill('lovely, from bob');
  await bobs.getByTestId('comment-input').press('Enter');
  await bobs.getByText('lovely, from bob').waitFor();

  const acknowledged = Date.now();
  const alices = post(alice.page, id);
  await alices.getByText('lovely, from bob').waitFor({ timeout: 2_000 });
  await alices.locator('[data-testid=like-count]', { hasText: /^1$/ }).waitFor({ timeout: 2_000 });
  await alices
    .locator('[data-testid=comment-count]', { hasText: /^1$/ })
    .waitFor({ timeout: 2_000 });
  // Bob's follow (before), like and comment: three unread.
  await unread(alice.page, 3).waitFor({ timeout: 2_000 });
  console.log(`bob's like and comment on alice's screen: ${Date.now() - acknowledged} ms`);
  assert.ok(Date.now() - acknowledged <= 2_000);
});

test('cutting alice’s WebSocket shows reconnecting; after the reconnect her counts are right', async () => {
  const id = newest();
  const count = post(alice.page, id).getByTestId('like-count');
  assert.equal(await count.textContent(), '1');
  socketsCut = true;
  for (const socket of sockets.splice(0)) await socket.close();
  await alice.page.getByText('Reconnecting…').waitFor({ timeout: 5_000 });

  // Bob takes his like back while alice's socket is down: no push can reach her.
  const bobs = post(bob.page, id);
  await bobs.getByTestId('like-button').click();
  await bobs.locator('[data-testid=like-button][aria-pressed=false]').waitFor();
  await bobs.locator('[data-testid=like-count]', { hasText: /^0$/ }).waitFor();
  assert.equal(await count.textContent(), '1', 'alice has not heard yet');
  assert.equal(await alice.page.getByTestId('unread-count').textContent(), '3');

  socketsCut = false;
  await alice.page
    .locator('[data-testid=status][data-state=online]')
    .waitFor({ state: 'attached', timeout: 20_000 });
  assert.equal(await alice.page.getByText('Reconnecting…').count(), 0);
  await post(alice.page, id)
    .locator('[data-testid=like-count]', { hasText: /^0$/ })
    .waitFor({ timeout: 2_000 });
  // The unlike took bob out of the unread like notification, which is gone with him.
  await unread(alice.page, 2).waitFor({ timeout: 2_000 });
});

test('alice opens her notifications: bob’s like, comment and follow; the count goes to 0 and stays', async () => {
  const id = newest();
  const bobs = post(bob.page, id);
  await bobs.getByTestId('like-button').click();
  await bobs.locator('[data-testid=like-button][aria-pressed=true]').waitFor();
  await unread(alice.page, 3).waitFor({ timeout: 2_000 });

  const pushedBefore = alicesFrames.length;
  await alice.page.getByRole('button', { name: 'Notifications, 3 unread' }).click();
  const items = alice.page.getByTestId('notification');
  await items.first().waitFor({ timeout: 5_000 });
  assert.deepEqual(await items.getByTestId('notification-text').allTextContents(), [
    'bob liked your post',
    'bob commented: lovely, from bob',
    'bob started following you',
  ]);
  await unread(alice.page, 0).waitFor({ timeout: 2_000 });
  // The mark's own push brings the newest notification back, read, into the client's cache: the
  // open list still shows all three as they were when it opened.
  await until('the push after the mark', () =>
    alicesFrames
      .slice(pushedBefore)
      .some((frame) => frame.includes('"notificationsChanged"') && frame.includes('"read":true')),
  );
  await alice.page.waitForTimeout(100);
  assert.equal(await alice.page.locator('[data-testid=notification][data-read=false]').count(), 3);
  await alice.page.getByRole('button', { name: 'Notifications, 0 unread' }).click();
  assert.equal(await items.count(), 0, 'the list closes');

  await alice.page.reload();
  await alice.page.locator('[data-testid=post]').first().waitFor();
  await unread(alice.page, 0).waitFor({ timeout: 5_000 });
  await alice.page.getByRole('button', { name: 'Notifications, 0 unread' }).click();
  await items.first().waitFor({ timeout: 5_000 });
  assert.equal(await alice.page.locator('[data-testid=notification][data-read=false]').count(), 0);
  await alice.page.getByTestId('bell').click();
});

test('a token the gateway refuses sends the app back to sign-in', async () => {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(web.url);
    await page.evaluate(
      `sessionStorage.setItem('session', JSON.stringify({ userId: 'alice', token: 'forged' }))`,
    );
    await page.reload();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor({ timeout: 5_000 });
    assert.equal(await page.evaluate(`sessionStorage.getItem('session')`), null);
  } finally {
    await context.close();
  }
});

test('going offline says so, and coming back clears it', async () => {
  await bob.context.setOffline(true);
  await bob.page.getByText('You are offline').waitFor({ timeout: 5_000 });
  await bob.context.setOffline(false);
  await bob.page.getByText('You are offline').waitFor({ state: 'detached', timeout: 5_000 });
});

test('uploading a PNG makes a post that shows its image', async () => {
  const page = alice.page;
  await page.evaluate('window.scrollTo(0, 0)');
  await page.getByTestId('file-input').setInputFiles({
    name: 'sunset.png',
    mimeType: 'image/png',
    buffer: await makeImage(320, 240, 'png'),
  });
  await page.getByTestId('caption-input').fill('uploaded from the browser');
  await page.getByTestId('share').click();
  const created = page.locator('[data-testid=post]').first();
  await created.getByText('uploaded from the browser').waitFor({ timeout: 10_000 });
  const photo = created.locator('img[data-testid=photo].loaded');
  await photo.waitFor({ timeout: 10_000 });
  const { width, src } = await photo.evaluate((img: any) => ({
    width: img.naturalWidth as number,
    src: img.src as string,
  }));
  assert.equal(width, 320);
  assert.ok(src.startsWith(`${new URL(stack.gatewayUrl).origin}/media/`), src);
});

/**
 * Bob's `LikePost` requests, answered by `answer` (a refusal to send instead, or undefined to let
 * the request through) until the returned function removes the route.
 */
async function interceptBobsLikes(
  answer: () =>
    | {
        status: number;
        code: string;
        retryAfter: number;
        message: string;
        headers?: Record<string, string>;
      }
    | undefined,
) {
  await bob.page.route(/\/graphql$/, (route) => {
    if (!route.request().postData()?.includes('"operationName":"LikePost"'))
      return route.fallback();
    const refusal = answer();
    if (!refusal) return route.fallback();
    return route.fulfill({
      status: refusal.status,
      contentType: 'application/json',
      headers: { 'access-control-allow-origin': new URL(web.url).origin, ...refusal.headers },
      // A 200 is a refusal from inside execution (the field null, the error at its path); any
      // other status, one before execution, errors alone.
      body: JSON.stringify({
        ...(refusal.status === 200 && { data: { likePost: null } }),
        errors: [
          {
            message: refusal.message,
            ...(refusal.status === 200 && { path: ['likePost'] }),
            extensions: { code: refusal.code, retryAfter: refusal.retryAfter },
          },
        ],
      }),
    });
  });
  return () => bob.page.unroute(/\/graphql$/);
}

test('a like refused with OVERLOADED goes again after its retryAfter, and sticks', async () => {
  const id = postIds[postIds.length - 2] as string;
  const likesSent: number[] = [];
  // The first like answered as the likes subgraph answers past WRITES_MAX_IN_FLIGHT: nothing written.
  const stop = await interceptBobsLikes(() => {
    likesSent.push(Date.now());
    if (likesSent.length > 1) return undefined;
    return {
      status: 200,
      code: 'OVERLOADED',
      retryAfter: 1,
      message: 'Too many writes in progress; retry in 1 s',
    };
  });
  try {
    const bobs = post(bob.page, id);
    await bobs.getByTestId('like-button').click();
    await until('the like sent again', () => likesSent.length === 2, 5_000);
    const waited = (likesSent[1] as number) - (likesSent[0] as number);
    assert.ok(waited >= 1_000, `sent again after ${waited} ms, before the 1 s it was told`);
    trusted.only = false; // for the test's own query, not one of the app's
    try {
      await until('the like written', async () => {
        const { post: liked } = ok(
          await stack.gql(
            'query($id: ID!) { post(id: $id) { likeCount viewerHasLiked } }',
            { id },
            { as: 'bob' },
          ),
        );
        return liked.likeCount === 1 && liked.viewerHasLiked === true;
      });
    } finally {
      trusted.only = true;
    }
    await bobs.locator('[data-testid=like-button][aria-pressed=true]').waitFor();
    await bobs.locator('[data-testid=like-count]', { hasText: /^1$/ }).waitFor();
  } finally {
    await stop();
  }
});

test('a like over the rate budget is taken back, and a notice says when to try again', async () => {
  const id = postIds[postIds.length - 3] as string;
  // As the gateway answers past the mutation budget: 429, Retry-After, RATE_LIMITED.
  const stop = await interceptBobsLikes(() => ({
    status: 429,
    code: 'RATE_LIMITED',
    retryAfter: 30,
    message: 'Too many requests; retry in 30 s',
    headers: { 'retry-after': '30' },
  }));
  try {
    const bobs = post(bob.page, id);
    await bobs.getByTestId('like-button').click();
    const notice = bob.page
      .getByTestId('notice')
      .filter({ hasText: 'Too many actions: your like did not go through. Try again in 30 s.' });
    await notice.waitFor({ timeout: 5_000 });
    // Where bob is looking (the post he liked is well down the feed), and on top of the posts.
    const box = await notice.boundingBox();
    const viewport = bob.page.viewportSize();
    assert.ok(
      box && viewport && box.y >= 0 && box.y + box.height <= viewport.height,
      `the notice is off screen at ${JSON.stringify(box)}`,
    );
    const onTop = await notice.evaluate(
      (element: any, { x, y }) => {
        const doc = (globalThis as any).document;
        return element.contains(doc.elementFromPoint(x, y));
      },
      { x: box.x + box.width / 2, y: box.y + box.height / 2 },
    );
    assert.ok(onTop, 'the notice is covered by the feed');
    await bobs.locator('[data-testid=like-button][aria-pressed=false]').waitFor();
    assert.equal(await bobs.getByTestId('like-count').textContent(), '0');
  } finally {
    await stop();
  }
});
