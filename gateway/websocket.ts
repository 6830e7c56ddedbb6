import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, createWebSocketStream } from 'ws';
import type { Config, Logger } from '../core/index.js';

/** The path MQTT over WebSocket is served on, as mqtt.js, Paho and mosquitto expect by default. */
export const MQTT_WS_PATH = '/mqtt';

/**
 * An HTTP server's 'upgrade' listener that serves MQTT over WebSocket at
 * `/mqtt` (subprotocol `mqtt`, [MQTT-6.0.0-3]) through the gateway's
 * `handle`: the same authentication, topic policy and limits as TCP. Any
 * other upgrade is answered 404. Returns the listener and a close function.
 */
export function mqttOverWebSocket(gateway: { handle(stream: Duplex, remoteAddress: string): void }, config: Config, log: Logger) {
  const wss = new WebSocketServer({
    noServer: true,
    // One WebSocket message carries MQTT bytes; none may exceed the packet limit by much.
    maxPayload: config.mqtt.maxPacketBytes + 16,
    handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : protocols.has('mqttv3.1') ? 'mqttv3.1' : false),
  });
  const clientAddress = remoteAddressOf(config.http.trustedProxies);
  function onUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = (request.url ?? '').split('?')[0];
    if (path !== MQTT_WS_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      const stream = createWebSocketStream(ws);
      stream.on('error', (err) => log.debug({ err: err.message }, 'WebSocket stream error'));
      gateway.handle(stream, clientAddress(request));
    });
  }
  return {
    onUpgrade,
    close: () => {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
    },
  };
}

/**
 * The client's address: the socket's, or the last hop of X-Forwarded-For when
 * the socket is a trusted proxy (`TESTBED_TRUSTED_PROXIES`, addresses or CIDR ranges).
 */
function remoteAddressOf(trusted: readonly string[]): (request: IncomingMessage) => string {
  const list = new BlockList();
  for (const entry of trusted) {
    const [address, bits] = entry.split('/');
    const type = isIP(address ?? '') === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(address!, type);
    else list.addSubnet(address!, Number(bits), type);
  }
  return (request) => {
    const socketAddress = request.socket.remoteAddress ?? 'unknown';
    const forwarded = request.headers['x-forwarded-for'];
    if (trusted.length === 0 || typeof forwarded !== 'string') return socketAddress;
    const plain = socketAddress.replace(/^::ffff:/, '');
    if (!list.check(plain, isIP(plain) === 6 ? 'ipv6' : 'ipv4')) return socketAddress;
    return forwarded.split(',').pop()!.trim() || socketAddress;
  };
}
