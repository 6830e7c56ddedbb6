import type { AddressInfo } from 'node:net';
import type { Config } from '../core/index.js';
import { buildApp, type ApiDeps } from './app.js';

export type { ApiDeps } from './app.js';
export { bundledConsoleDir } from './plugins/console.js';

/** How long a stop waits for requests in flight (an export, a live stream) before cutting them. */
const STOP_GRACE_MS = 2000;

export interface Api {
  /** The port listened on; the real one when the configuration asked for 0. */
  readonly port: number;
  readonly url: string;
  /** Stops accepting, finishes requests in flight, and closes. */
  stop(): Promise<void>;
}

/** Starts the HTTP API on `config.host` and `config.http.port`; resolves once it is listening. */
export async function start(config: Config, deps: ApiDeps): Promise<Api> {
  const app = await buildApp(deps);
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
    url: `http://${host}:${port}`,
    async stop() {
      // Requests in flight get a grace period to finish; then their connections are cut.
      const cut = setTimeout(() => app.server.closeAllConnections(), STOP_GRACE_MS);
      await app.close();
      clearTimeout(cut);
    },
  };
}
