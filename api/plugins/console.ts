import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { ApiInstance } from '../deps.js';

/**
 * What the console's pages may load: only this origin. Styles allow inline
 * values because uPlot and Preact set element styles; nothing else is inline.
 */
export const CONSOLE_CSP = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'";

/** The console's policy, with the tile server's origin allowed for images when map tiles are configured. */
export function consoleCsp(tileUrl: string | undefined): string {
  if (tileUrl === undefined) return CONSOLE_CSP;
  return CONSOLE_CSP.replace("img-src 'self' data:", `img-src 'self' data: ${new URL(tileUrl.replace(/[{}]/g, '')).origin}`);
}

/** The console as `npm run build` leaves it: `console/dist` at the package root, found from this module in `api/` or `dist/api/`. */
export function bundledConsoleDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return path.join(dir, 'console', 'dist');
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('cannot find the package root to serve the console from');
    dir = parent;
  }
}

/**
 * Serves the web console's built files at `/`. The files hold no data and need
 * no key: the console asks the API for everything with the user's key. Only
 * the files present at start are routed (no wildcard), so every other path
 * keeps the API's JSON 404. `/console.json` tells the page its settings (the
 * map's tile URL, or null). Without a build, `/` stays a 404 and the log says
 * how to build it.
 */
export async function serveConsole(app: ApiInstance, dir: string | undefined, tileUrl?: string): Promise<void> {
  if (dir === undefined) return;
  if (!fs.existsSync(path.join(dir, 'index.html'))) {
    app.log.warn({ dir }, 'the web console is not built (npm run build); / answers 404');
    return;
  }
  const csp = consoleCsp(tileUrl);
  // The console's run-time settings: read by the page at start, so one build serves every deployment.
  app.get('/console.json', { schema: { hide: true } }, async (_request, reply) => {
    void reply.header('cache-control', 'no-cache');
    return { tileUrl: tileUrl ?? null };
  });
  await app.register(fastifyStatic, {
    root: dir,
    prefix: '/',
    wildcard: false,
    decorateReply: false,
    index: ['index.html'],
    setHeaders: (reply) => {
      reply.header('content-security-policy', csp);
      reply.header('x-content-type-options', 'nosniff');
      reply.header('referrer-policy', 'no-referrer');
    },
  });
}
