import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { build } from 'vite';
import { listen } from '../../platform/http.js';
import { projectPath } from '../../platform/paths.js';

/** The web app's sources and its build (`web/dist`, which `npm start` and the tests serve). */
export const WEB_DIST = projectPath('web/dist');
const WEB_SOURCES = ['web/src', 'web/public', 'web/index.html', 'web/vite.config.ts'];

async function newestChange(paths: string[]): Promise<number> {
  let newest = 0;
  for (const path of paths.map(projectPath)) {
    const info = await stat(path);
    if (!info.isDirectory()) {
      newest = Math.max(newest, info.mtimeMs);
      continue;
    }
    for (const entry of await readdir(path, { recursive: true, withFileTypes: true })) {
      if (entry.isFile())
        newest = Math.max(newest, (await stat(join(entry.parentPath, entry.name))).mtimeMs);
    }
  }
  return newest;
}

/** Builds the app with Vite unless its build is newer than every source. True when it built. */
export async function buildWebApp(): Promise<boolean> {
  const built = await stat(join(WEB_DIST, 'index.html')).then(
    (info) => info.mtimeMs,
    () => 0,
  );
  if (built > (await newestChange(WEB_SOURCES))) return false;
  await build({ configFile: projectPath('web/vite.config.ts'), logLevel: 'warn' });
  return true;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

export interface WebAppServer {
  url: string;
  server: Server;
  stop(): Promise<void>;
}

/**
 * The built app as static files on its own origin, as a CDN would serve it: hashed bundles under
 * `/assets/` cached for good, `index.html` revalidated, any other path answered with `index.html`
 * (the app routes on the client). `/config.json` tells the app where the gateway is.
 */
export async function serveWebApp(options: {
  host: string;
  port: number;
  gatewayUrl: string;
  /** The built app; `web/dist` by default. */
  root?: string;
}): Promise<WebAppServer> {
  const root = options.root ?? WEB_DIST;
  const config = JSON.stringify({ gatewayUrl: options.gatewayUrl });
  const server = createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    } catch {
      res.writeHead(400).end('malformed path');
      return;
    }
    if (path === '/config.json') {
      res.writeHead(200, { 'content-type': TYPES['.json'], 'cache-control': 'no-store' });
      res.end(config);
      return;
    }
    const file = normalize(join(root, path));
    const send = (target: string, immutable: boolean) =>
      stat(target).then((info) => {
        if (!info.isFile()) throw new Error('not a file');
        res.writeHead(200, {
          'content-type': TYPES[extname(target)] ?? 'application/octet-stream',
          'content-length': info.size,
          'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
        });
        if (req.method === 'HEAD') res.end();
        else createReadStream(target).pipe(res);
      });
    const index = () => send(join(root, 'index.html'), false);
    // A path that climbs out of the build directory gets the app, never another file.
    const inside = file.startsWith(root + sep);
    (inside ? send(file, path.startsWith('/assets/')) : index()).catch(index).catch(() => {
      if (!res.headersSent) res.writeHead(404).end('web app not built');
    });
  });
  const port = await listen(server, options.port, options.host);
  return {
    url: `http://${options.host}:${port}/`,
    server,
    stop: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
