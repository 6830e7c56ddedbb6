import type { Server, Socket } from 'node:net';
import type { SecureContextOptions } from 'node:tls';
import type { Config, Logger } from '../core/index.js';

/** How the HTTP server listens: plain or HTTPS, behind which proxies, with which timeouts. */
export interface ServerOptions {
  /** The certificate for HTTPS; plain HTTP without it. */
  readonly https?: SecureContextOptions | undefined;
  /** Addresses or CIDR ranges whose X-Forwarded-For is believed. */
  readonly trustedProxies?: readonly string[] | undefined;
  readonly limits?: Config['limits']['http'] | undefined;
}

/**
 * The Fastify and Node server options for `options`. Node checks the header
 * and request timeouts every `connectionsCheckingInterval`; it is set to a
 * fraction of the header timeout so that a half-sent request is closed close
 * to the documented time, not 30 s later.
 */
export function fastifyServerOptions(options: ServerOptions) {
  const limits = options.limits;
  const node = limits
    ? { connectionsCheckingInterval: Math.max(250, Math.min(1000, limits.headersTimeoutMs / 4)), headersTimeout: limits.headersTimeoutMs }
    : {};
  return {
    ...(options.https ? { https: { ...options.https, ...node } } : { http: node }),
    ...(options.trustedProxies && options.trustedProxies.length > 0 ? { trustProxy: [...options.trustedProxies] } : {}),
    ...(limits ? { requestTimeout: limits.requestTimeoutMs, keepAliveTimeout: limits.keepAliveTimeoutMs } : {}),
  };
}

/**
 * Caps open sockets per client address and in all (`server.maxConnections`
 * closes sockets beyond the total at once). A socket over the per-address cap
 * is marked: its request is answered 503 `TESTBED_CONNECTION_LIMIT` (see
 * app.ts) and it is closed soon whether or not a request came.
 */
export function capConnections(server: Server, limits: Config['limits']['http'], log: Logger): (socket: Socket) => boolean {
  const open = new Map<string, number>();
  const over = new WeakSet<Socket>();
  server.maxConnections = limits.maxConnections;
  server.on('connection', (socket: Socket) => {
    const peer = socket.remoteAddress ?? 'unknown';
    const n = (open.get(peer) ?? 0) + 1;
    open.set(peer, n);
    socket.once('close', () => {
      const left = (open.get(peer) ?? 1) - 1;
      if (left === 0) open.delete(peer);
      else open.set(peer, left);
    });
    if (n > limits.maxConnectionsPerIp) {
      log.warn({ code: 'TESTBED_CONNECTION_LIMIT', remoteAddress: peer, limit: limits.maxConnectionsPerIp }, 'HTTP connection over the per-address cap');
      over.add(socket);
      setTimeout(() => socket.destroy(), OVER_CAP_GRACE_MS).unref();
    }
  });
  return (socket) => over.has(socket);
}

/** How long a socket over the cap is kept, so that its first request can be told why. */
const OVER_CAP_GRACE_MS = 2000;
