import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Server as TlsServer } from 'node:tls';
import type { Config, TlsCredentials } from '../core/index.js';
import { buildApp, type ApiDeps } from './app.js';

export type { ApiDeps } from './app.js';
export { bundledConsoleDir } from './plugins/console.js';

/** How long a stop waits for requests in flight (an export, a live stream) before cutting them. */
const STOP_GRACE_MS = 2000;

export interface Api {
  /** The port listened on; the real one when the configuration asked for 0. */
  readonly port: number;
  readonly url: string;
  /**
   * The Node server under the API, for the composition root to serve other
   * protocols on the same port (MQTT over WebSocket on its 'upgrade').
   */
  readonly server: Server;
  /** Stops accepting, finishes requests in flight, and closes. */
  stop(): Promise<void>;
}

/**
 * Starts the HTTP API on `config.host` and `config.http.port`, over HTTPS when
 * `config.http.https` (with `tls`, whose reloads reach new handshakes);
 * resolves once it is listening.
 */
export async function start(config: Config, deps: ApiDeps, tls?: TlsCredentials): Promise<Api> {
  const https = config.http.https && tls ? tls : undefined;
  const perSecond = config.limits.keys.companyRequestsPerSecond;
  const app = await buildApp(
    { companyRateLimit: { perSecond, burst: perSecond * 4 }, ...deps },
    { https: https?.options, trustedProxies: config.http.trustedProxies, limits: config.limits.http },
  );
  const stopWatching = https?.onChange((options) => (app.server as unknown as TlsServer).setSecureContext(options));
  try {
    await app.listen({ host: config.host, port: config.http.port });
  } catch (err) {
    await app.close();
    throw err;
  }
  const { port } = app.server.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return {
    port,
    url: `${https ? 'https' : 'http'}://${host}:${port}`,
    server: app.server,
    async stop() {
      stopWatching?.();
      // Requests in flight get a grace period to finish; then their connections are cut.
      const cut = setTimeout(() => app.server.closeAllConnections(), STOP_GRACE_MS);
      await app.close();
      clearTimeout(cut);
    },
  };
}
