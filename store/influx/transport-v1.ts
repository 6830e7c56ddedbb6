import type { Transport } from '@influxdata/influxdb-client';
import type { InfluxServer } from './server.js';

/**
 * The 1.x write path for the client's `/api/v2/write?org=..&bucket=..&precision=..`:
 * `/write?db=..&rp=..&precision=..`, with a `user:password` token as `u` and `p`
 * (InfluxDB 1.x before 1.8 knows no `Authorization: Token`). Other paths are
 * returned unchanged.
 */
export function toV1Path(path: string, server: InfluxServer): string {
  if (!path.startsWith('/api/v2/write?')) return path;
  const v2 = new URLSearchParams(path.slice(path.indexOf('?') + 1));
  const v1 = new URLSearchParams({ db: server.db });
  if (server.rp) v1.set('rp', server.rp);
  for (const name of ['precision', 'consistency']) {
    const value = v2.get(name);
    if (value !== null) v1.set(name, value);
  }
  if (server.user) {
    v1.set('u', server.user.username);
    v1.set('p', server.user.password);
  }
  return `/write?${v1}`;
}

/**
 * A Transport for InfluxDB 1.x: the client's own node transport (`inner`), with
 * each write request sent to the 1.x `/write` endpoint instead of `/api/v2/write`,
 * which 1.x (before 1.8) does not have. Everything else — body, gzip, timeouts,
 * and turning an answer into an HttpError — stays the client's.
 */
export function v1Transport(inner: Transport, server: InfluxServer): Transport {
  // The WriteApi's path never changes, so one rewrite serves every request.
  let lastIn = '';
  let lastOut = '';
  const rewrite = (path: string): string => {
    if (path !== lastIn) {
      lastIn = path;
      lastOut = toV1Path(path, server);
    }
    return lastOut;
  };
  return {
    send: (path, body, options, callbacks) => inner.send(rewrite(path), body, options, callbacks),
    request: (path, body, options, responseStarted) => inner.request(rewrite(path), body, options, responseStarted),
    iterate: (path, body, options) => inner.iterate(rewrite(path), body, options),
    chunkCombiner: inner.chunkCombiner,
  };
}
