import net from 'node:net';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import type { Config, Logger, TlsCredentials } from '../core/index.js';

/** Hands an accepted socket to the broker, with the client's address. */
export type Accept = (socket: net.Socket, peer: string) => void;

export interface Listeners {
  /** The plain TCP port, or undefined when it is switched off. */
  readonly port: number | undefined;
  /** The MQTT over TLS port, or undefined when not configured. */
  readonly tlsPort: number | undefined;
  close(): Promise<void>;
}

/**
 * Opens the device listeners the configuration asks for: plain TCP on
 * `mqtt.port` and TLS on `mqtt.tlsPort`. The TLS server takes a new
 * certificate for new handshakes whenever `credentials` reload; open
 * connections keep theirs.
 */
export async function openListeners(config: Config, credentials: TlsCredentials | undefined, accept: Accept, log: Logger): Promise<Listeners> {
  const servers: net.Server[] = [];
  const close = () => Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())))).then(() => undefined);
  try {
    let port: number | undefined;
    let tlsPort: number | undefined;
    if (config.mqtt.port !== undefined) {
      const server = net.createServer((socket) => accept(socket, socket.remoteAddress ?? 'unknown'));
      servers.push(server);
      port = await listen(server, config.mqtt.port, config.host);
      log.info({ host: config.host, port }, 'MQTT gateway listening');
    }
    if (config.mqtt.tlsPort !== undefined) {
      if (!credentials) throw new Error('MQTT over TLS needs a certificate');
      const server = tls.createServer(
        {
          ...credentials.options,
          // A CA asks clients for a certificate; devices without one still log in with their password.
          requestCert: credentials.files.ca !== undefined,
          rejectUnauthorized: false,
          // A handshake that does not finish is closed (a slow-loris on TLS).
          handshakeTimeout: config.limits.mqtt.connectTimeoutMs,
        },
        (socket) => {
          // A certificate the CA did not sign is refused; no certificate at all is let through.
          if (credentials.files.ca !== undefined && !socket.authorized && Object.keys(socket.getPeerCertificate()).length > 0) {
            log.info(
              { remoteAddress: socket.remoteAddress, reason: String(socket.authorizationError) },
              'closed TLS connection: client certificate not signed by TESTBED_TLS_CA',
            );
            socket.destroy();
            return;
          }
          accept(socket, socket.remoteAddress ?? 'unknown');
        },
      );
      server.on('tlsClientError', (err, socket) => log.debug({ err: err.message, remoteAddress: socket.remoteAddress }, 'TLS handshake failed'));
      const stop = credentials.onChange((options) => server.setSecureContext(options));
      server.once('close', stop);
      servers.push(server);
      tlsPort = await listen(server, config.mqtt.tlsPort, config.host);
      log.info({ host: config.host, port: tlsPort }, 'MQTT over TLS listening');
    }
    return { port, tlsPort, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * Connections the kernel holds for the broker before it accepts them. Node's
 * default (511) is too few for a fleet reconnecting at once after a power cut:
 * past it the kernel drops SYNs, and each device waits out TCP's retransmission
 * backoff (1, 2, 4, 8... seconds) before trying again. The kernel caps it at
 * net.core.somaxconn (4096 on current Linux).
 */
const ACCEPT_BACKLOG = 8192;

function listen(server: net.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, backlog: ACCEPT_BACKLOG }, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
