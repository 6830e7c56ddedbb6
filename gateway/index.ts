import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import { type Config, type Logger, type DeviceContext, deviceTopic } from '../core/index.js';
import type { Rejection } from '../store/index.js';
import type { Ingest } from '../ingest/index.js';
import { accessOf, mayPublish, maySubscribe, pilotWindow, type DeviceAccess } from './acl.js';
import { limitPacketSize } from './packet-limit.js';

/** What the gateway needs from the registry: one credential check at CONNECT. */
export interface DeviceAuthenticator {
  authenticateDevice(username: string, password: Buffer): DeviceContext | undefined;
}

export interface GatewayDeps {
  readonly devices: DeviceAuthenticator;
  readonly ingest: Pick<Ingest, 'accept' | 'forget' | 'onRefused'>;
  readonly log: Logger;
}

export interface Gateway {
  /** The TCP port the broker listens on (useful when configured as 0). */
  readonly port: number;
  connectedDevices(): number;
  /** Closes every MQTT connection of a device (its secret was rotated, it was revoked, its pilot ended). */
  disconnect(deviceId: string): void;
  isOnline(deviceId: string): boolean;
  /** Epoch ms of the device's last CONNECT, message or disconnect since start. */
  lastSeen(deviceId: string): number | undefined;
  /** Sends a rejection notice to the device's errors topic (for rejections made after acknowledgement). */
  notify(rejection: Pick<Rejection, 'deviceId' | 'code' | 'reason'>): void;
  stop(): Promise<void>;
}

// CONNACK return codes, MQTT 3.1.1 section 3.2.2.3.
const IDENTIFIER_REJECTED = 2;
const BAD_USERNAME_OR_PASSWORD = 4;
const NOT_AUTHORIZED = 5;

/** Aedes keeps its connected clients by client id; its type declarations omit the field. */
function connectedClients(broker: Aedes): Record<string, Client | undefined> {
  return (broker as unknown as { clients: Record<string, Client | undefined> }).clients;
}

function authError(message: string, returnCode: number): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}

/**
 * Starts the MQTT gateway: an Aedes broker on TCP whose hooks authenticate each
 * device, enforce the topic policy and hand readings to ingest. Resolves once
 * it is listening.
 */
export async function start(config: Config, deps: GatewayDeps): Promise<Gateway> {
  const log = deps.log.child({ stage: 'gateway' });
  /**
   * Each connection's device, what it may use, and its number (ingest tells a
   * resend on a new connection from a repeat on the same one), set at CONNECT.
   */
  const sessions = new WeakMap<Client, DeviceAccess & { readonly connection: number }>();
  let connectionCount = 0;
  const online = new Map<string, Set<Client>>();
  const lastSeen = new Map<string, number>();
  /** Tells a device why a reading of its was not stored, on its errors topic (QoS 0: a notice, not a record). */
  function notify({ deviceId, code, reason }: Pick<Rejection, 'deviceId' | 'code' | 'reason'>): void {
    broker.publish(
      { cmd: 'publish', topic: deviceTopic(deviceId, 'errors'), payload: JSON.stringify({ code, reason }), qos: 0, retain: false, dup: false },
      () => {},
    );
  }

  /**
   * A device is online while one of its sockets is open. The set follows the
   * socket's own 'close', which fires once whatever ends the connection (a
   * DISCONNECT, a policy close before the CONNACK went out, a takeover, a
   * keepalive timeout), so it cannot drift from the broker's connections.
   */
  function track(client: Client, deviceId: string): void {
    let clients = online.get(deviceId);
    if (!clients) online.set(deviceId, (clients = new Set()));
    clients.add(client);
    lastSeen.set(deviceId, Date.now());
    const conn = (client as unknown as { conn: NodeJS.EventEmitter }).conn;
    conn.once('close', () => {
      const set = online.get(deviceId);
      set?.delete(client);
      if (set?.size === 0) online.delete(deviceId);
      lastSeen.set(deviceId, Date.now());
      deps.ingest.forget(deviceId);
    });
  }
  deps.ingest.onRefused((rejections) => rejections.forEach(notify));

  const broker = await Aedes.createBroker({
    authenticate(client, username, password, done) {
      const device = username && password ? deps.devices.authenticateDevice(username, password) : undefined;
      if (!device) {
        log.info({ username, clientId: client.id }, 'refused CONNECT: bad username or password');
        return done(authError('bad username or password', BAD_USERNAME_OR_PASSWORD), false);
      }
      const window = pilotWindow(device, Date.now());
      if (window !== 'active') {
        log.info({ deviceId: device.deviceId, pilotId: device.pilotId, window }, 'refused CONNECT: pilot not running');
        return done(authError(`pilot ${window}`, NOT_AUTHORIZED), false);
      }
      // A new connection with a connected client's id takes over its session [MQTT-3.1.4-2];
      // only the same device may do that, or one device could cut another off.
      const holder = connectedClients(broker)[client.id];
      if (holder && holder !== client && sessions.get(holder)?.device.deviceId !== device.deviceId) {
        log.warn({ deviceId: device.deviceId, clientId: client.id }, 'refused CONNECT: client id held by another device');
        return done(authError('client id in use', IDENTIFIER_REJECTED), false);
      }
      sessions.set(client, { ...accessOf(device), connection: ++connectionCount });
      track(client, device.deviceId);
      done(null, true);
    },

    authorizePublish(client, packet, done) {
      if (client === null) return done(null); // the broker's own notices
      const session = sessions.get(client);
      if (!session || !mayPublish(session, packet.topic)) {
        // [MQTT-3.3.5-2] An unauthorised PUBLISH cannot be refused in 3.1.1; the connection is closed.
        log.warn({ deviceId: session?.device.deviceId, topic: packet.topic }, 'closed connection: publish outside its own topics');
        return done(new Error(`not authorised to publish to ${packet.topic}`));
      }
      const { device } = session;
      const now = Date.now();
      if (pilotWindow(device, now) !== 'active') {
        log.info({ deviceId: device.deviceId }, 'closed connection: pilot has ended');
        return done(new Error('pilot has ended'));
      }
      lastSeen.set(device.deviceId, now);
      // Readings are not retained messages; the store keeps them.
      packet.retain = false;
      const message = {
        payload: packet.payload as Buffer,
        qos: packet.qos,
        messageId: packet.messageId,
        dup: packet.dup,
        connection: session.connection,
      };
      const outcome = deps.ingest.accept(device, message, done);
      for (const rejection of outcome.rejections) notify(rejection);
    },

    authorizeSubscribe(client, subscription, done) {
      const session = sessions.get(client);
      if (!session || !maySubscribe(session, subscription.topic)) {
        log.info({ deviceId: session?.device.deviceId, topic: subscription.topic }, 'refused SUBSCRIBE outside its own topics');
        return done(null, null); // SUBACK return code 0x80 [MQTT-3.9.3]
      }
      done(null, subscription);
    },
  });

  broker.on('clientError', (client, err) => log.debug({ clientId: client.id, err }, 'client error'));
  broker.on('connectionError', (client, err) => log.debug({ clientId: client.id, err }, 'connection error'));

  const server = net.createServer((socket) => {
    const limited = limitPacketSize(socket, config.mqtt.maxPacketBytes, (length) =>
      log.warn({ remoteAddress: socket.remoteAddress, length, limit: config.mqtt.maxPacketBytes }, 'closed connection: MQTT packet over the size limit'),
    );
    broker.handle(limited);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.mqtt.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  log.info({ host: config.host, port }, 'MQTT gateway listening');

  return {
    port,
    connectedDevices: () => broker.connectedClients,
    disconnect(deviceId) {
      for (const client of online.get(deviceId) ?? []) {
        log.info({ deviceId, clientId: client.id }, 'disconnecting device');
        client.close();
      }
    },
    notify,
    isOnline: (deviceId) => (online.get(deviceId)?.size ?? 0) > 0,
    lastSeen: (deviceId) => lastSeen.get(deviceId),
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await closed;
    },
  };
}
