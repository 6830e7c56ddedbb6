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
 * keeps the API's JSON 404. Without a build, `/` stays a 404 and the log says
 * how to build it.
 */
export async function serveConsole(app: ApiInstance, dir: string | undefined): Promise<void> {
  if (dir === undefined) return;
  if (!fs.existsSync(path.join(dir, 'index.html'))) {
    app.log.warn({ dir }, 'the web console is not built (npm run build); / answers 404');
    return;
  }
  await app.register(fastifyStatic, {
    root: dir,
    prefix: '/',
    wildcard: false,
    decorateReply: false,
    index: ['index.html'],
    setHeaders: (reply) => {
      reply.header('content-security-policy', CONSOLE_CSP);
      reply.header('x-content-type-options', 'nosniff');
      reply.header('referrer-policy', 'no-referrer');
    },
  });
}
