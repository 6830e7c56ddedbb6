import type { Duplex } from 'node:stream';
import { Aedes, type Client } from 'aedes';
import {
  type Config,
  type Logger,
  type DeviceContext,
  type DisconnectReason,
  type EventBus,
  type TlsCredentials,
  configTopic,
  deviceTopic,
} from '../core/index.js';
import type { Rejection } from '../store/index.js';
import type { Ingest } from '../ingest/index.js';
import { CommandDelivery, NO_COMMANDS, type CommandOutbox } from './commands.js';
import { DesiredConfigPublisher, NO_CONFIGURATION, type ConfigChannel } from './desired-config.js';
import { brokerHooks, BURST_SECONDS, readingReceiver, type DeviceAuthenticator, type HookContext, type Session } from './hooks.js';
import { takeReadings } from './readings-path.js';
import { openListeners } from './listeners.js';
import { acknowledgingPersistence, restoredSubscriptions } from './persistence.js';
import { ReadingsBypass } from './routing.js';
import type { MQEmitter } from 'mqemitter';
import { limitReads } from './packet-limit.js';
import { OnlineDevices } from './online.js';
import { leanParserBuffer } from './lean-client.js';
import { ConnectionCounter, RateLimiter } from './throttle.js';

export { mqttOverWebSocket, MQTT_WS_PATH } from './websocket.js';
export type { CommandOutbox } from './commands.js';
export type { ConfigChannel } from './desired-config.js';
export type { DeviceAuthenticator } from './hooks.js';

/** How often commands past their TTL are expired, and commands queued by other processes are looked for. */
const COMMAND_SWEEP_MS = 1000;

export interface GatewayDeps {
  readonly devices: DeviceAuthenticator;
  readonly ingest: Pick<Ingest, 'accept' | 'forget' | 'onRefused' | 'refusing'>;
  readonly log: Logger;
  /** The server certificate, when MQTT over TLS is configured. */
  readonly tls?: TlsCredentials | undefined;
  /** The command store; without it no commands are delivered and results are refused as unknown. */
  readonly commands?: CommandOutbox | undefined;
  /** The configuration store; without it no desired configuration is sent and reports are refused. */
  readonly configuration?: ConfigChannel | undefined;
  /**
   * Where connections, disconnections (with why) and wills are published as `device.*` events,
   * and command status changes as `command.*`; `command.queued` is heard to deliver at once,
   * `device.config.desired` to send a new desired configuration at once.
   */
  readonly events?: EventBus | undefined;
  /**
   * The broker's id, message bus (an mqemitter) and session store (an Aedes
   * persistence) when several gateway nodes share them; by default the broker
   * keeps both in this process's memory.
   */
  readonly broker?: { readonly id: string; readonly mq: unknown; readonly persistence: object } | undefined;
}

export interface Gateway {
  /** The plain TCP port (the real one when configured as 0), or undefined when it is switched off. */
  readonly port: number | undefined;
  /** The MQTT over TLS port, or undefined when it is not configured. */
  readonly tlsPort: number | undefined;
  /**
   * Serves one more MQTT connection on a stream that is not one of the
   * gateway's own sockets (a WebSocket), under the same limits and policy.
   */
  handle(stream: Duplex, remoteAddress: string): void;
  connectedDevices(): number;
  /** Closes every MQTT connection of a device (its secret was rotated, it was revoked, its pilot ended); `reason` is what its disconnect event says. */
  disconnect(deviceId: string, reason?: DisconnectReason): void;
  isOnline(deviceId: string): boolean;
  /** Epoch ms of the device's last CONNECT, message or disconnect since start. */
  lastSeen(deviceId: string): number | undefined;
  /** Sends a rejection notice to the device's errors topic (for rejections made after acknowledgement). */
  notify(rejection: Pick<Rejection, 'deviceId' | 'code' | 'reason'>): void;
  /**
   * Forgets an erased device: its retained desired configuration is removed
   * from the broker, and what the gateway keeps of it in memory (last seen,
   * message rate bucket, configuration version published) is dropped.
   */
  forgetDevice(deviceId: string): Promise<void>;
  /**
   * How many retained messages the broker keeps for the device: its desired
   * configuration is the only one (the gateway clears the retain flag of what
   * devices publish). Erasure's check: 0 once forgotten.
   */
  retainedMessages(deviceId: string): Promise<number>;
  stop(): Promise<void>;
}

/** CONNACK "server unavailable" [MQTT-3.2.2.3], sent before closing a connection over a cap. */
const CONNACK_SERVER_UNAVAILABLE = Buffer.from([0x20, 0x02, 0x00, 0x03]);

/** Aedes keeps its connected clients by client id; its type declarations omit the field. */
function connectedClients(broker: Aedes): Record<string, Client | undefined> {
  return (broker as unknown as { clients: Record<string, Client | undefined> }).clients;
}

const connOf = (client: Client) => (client as unknown as { conn: Duplex }).conn;

/**
 * Starts the MQTT gateway: an Aedes broker on TCP (and TLS) whose hooks
 * authenticate each device, enforce the topic policy and limits and hand
 * readings to ingest. Resolves once it is listening.
 */
export async function start(config: Config, deps: GatewayDeps): Promise<Gateway> {
  const log = deps.log.child({ stage: 'gateway' });
  const limits = config.limits.mqtt;
  /** Each connection's device, what it may use, and its number (ingest tells a resend on a new connection from a repeat on the same one). */
  const sessions = new WeakMap<Client, Session>();
  const peers = new WeakMap<Duplex, string>();
  const connections = new ConnectionCounter();
  const messages = new RateLimiter(config.limits.mqtt.deviceMessagesPerSecond, config.limits.mqtt.deviceMessagesPerSecond * BURST_SECONDS);
  const online = new OnlineDevices<Client>();
  const lastSeen = new Map<string, number>();
  /** Why a connection is being closed, when the gateway knows before its socket closes. */
  const reasons = new WeakMap<Client, DisconnectReason>();
  let stopping = false;
  const publish = (type: string, device: DeviceContext, at: number, data: Record<string, unknown> = {}) =>
    deps.events?.publish({ type, at, testbedId: device.testbedId, companyId: device.companyId, pilotId: device.pilotId, deviceId: device.deviceId, data });
  /** Tells a device why a reading of its was not stored, on its errors topic (QoS 0: a notice, not a record). */
  function notify({ deviceId, code, reason }: Pick<Rejection, 'deviceId' | 'code' | 'reason'>): void {
    broker.publish(
      { cmd: 'publish', topic: deviceTopic(deviceId, 'errors'), payload: JSON.stringify({ code, reason }), qos: 0, retain: false, dup: false },
      () => {},
    );
  }

  /**
   * A device is online while one of its sockets is open: from its CONNECT's
   * acceptance until the socket's own 'close' (see `handle`), which fires once
   * whatever ends the connection, so it cannot drift from the broker's connections.
   */
  function track(client: Client, device: DeviceContext): void {
    online.add(device.deviceId, client);
    const connectedAt = Date.now();
    lastSeen.set(device.deviceId, connectedAt);
    publish('device.connected', device, connectedAt);
  }
  function untrack(client: Client): void {
    const device = sessions.get(client)?.device;
    if (!device) return; // closed before its CONNECT was accepted
    const { deviceId } = device;
    online.delete(deviceId, client);
    const at = Date.now();
    lastSeen.set(deviceId, at);
    deps.ingest.forget(deviceId);
    delivery.closed(client, deviceId);
    publish('device.disconnected', device, at, { reason: reasonOf(client), stillOnline: online.count(deviceId) > 0 });
  }
  function reasonOf(client: Client): DisconnectReason {
    // [MQTT-3.14.4] a DISCONNECT packet: the client closed on purpose.
    if ((client as unknown as { _disconnected?: boolean })._disconnected) return 'client closed';
    return reasons.get(client) ?? (stopping ? 'gateway stopped' : 'connection lost');
  }
  /** A first reason wins: a policy close is not overwritten by the socket error that follows it. */
  const closing = (client: Client, reason: DisconnectReason) => {
    if (!reasons.has(client)) reasons.set(client, reason);
  };
  deps.ingest.onRefused((rejections) => rejections.forEach(notify));
  const deviceOf = (client: Client | null) => (client ? sessions.get(client)?.device.deviceId : undefined);
  const delivery = new CommandDelivery(deps.commands ?? NO_COMMANDS, { publish: (packet, done) => broker.publish(packet, done) }, deps.events, log);

  const desired = new DesiredConfigPublisher(deps.configuration ?? NO_CONFIGURATION, (packet, done) => broker.publish(packet, done), log);
  const persistence = acknowledgingPersistence((client, messageId) => {
    const deviceId = deviceOf(client);
    if (deviceId) delivery.acknowledged(client, deviceId, messageId);
  }, deps.broker?.persistence);

  const hookContext: HookContext = {
    config,
    log,
    devices: deps.devices,
    ingest: deps.ingest,
    sessions,
    messages,
    peerOf: (client) => peers.get(connOf(client)) ?? 'unknown',
    connectionsOf: (deviceId) => online.count(deviceId),
    holderOf: (key) => connectedClients(broker)[key],
    // Sockets the caps let in, less the clients the broker has registered (after their CONNECT was accepted).
    connectsWaiting: () => connections.total - broker.connectedClients,
    track,
    closing,
    will: (device, payload, at) => publish('device.will', device, at, { payload }),
    seen: (deviceId, at) => lastSeen.set(deviceId, at),
    notify,
    answered: (deviceId, commandId, payload) => delivery.answered(deviceId, commandId, payload),
    reported: (device, payload) => desired.reported(device, payload),
  };
  const receiveReading = readingReceiver(hookContext);
  const broker: Aedes = await Aedes.createBroker({
    ...(deps.broker && { id: deps.broker.id }),
    persistence,
    mq: new ReadingsBypass(deps.broker?.mq as MQEmitter | undefined),
    connectTimeout: limits.connectTimeoutMs,
    ...brokerHooks(hookContext),
    authorizeForward(client, packet) {
      const deviceId = deviceOf(client);
      return deviceId ? delivery.forwarding(client, deviceId, packet) : packet;
    },
  });
  broker.on('subscribe', (subscriptions, client) => {
    const deviceId = deviceOf(client);
    if (deviceId) delivery.subscribed(client, deviceId, subscriptions);
  });
  broker.on('unsubscribe', (filters, client) => {
    const deviceId = deviceOf(client);
    if (deviceId) delivery.unsubscribed(client, deviceId, filters);
  });
  broker.on('clientReady', (client) => {
    const deviceId = deviceOf(client);
    if (!deviceId) return;
    delivery.deliver(deviceId);
    // A resumed session is subscribed without sending SUBSCRIBE: its commands go to it all the same.
    if (!client.clean)
      void restoredSubscriptions(persistence, client, log).then((subs) => {
        if (!client.closed) delivery.subscribed(client, deviceId, subs);
      });
  });
  const offQueued = deps.events?.on((event) => {
    if (event.type === 'command.queued' && event.deviceId) delivery.deliver(event.deviceId);
    else if (event.type === 'device.config.desired') desired.sync();
  });
  // Retained messages live in the broker's memory: every desired document is published again at start.
  desired.sync();
  const sweep = setInterval(() => {
    try {
      delivery.sweep();
      desired.sync();
    } catch (err) {
      log.error({ err }, 'command sweep failed');
    }
  }, COMMAND_SWEEP_MS);
  sweep.unref();
  broker.on('keepaliveTimeout', (client) => closing(client, 'keepalive timeout'));
  broker.on('clientError', (client, err) => log.debug({ clientId: client.id, err }, 'client error'));
  broker.on('connectionError', (client, err) => log.debug({ clientId: client.id, err }, 'connection error'));

  /** Every connection, whatever its transport, passes the same caps before the broker reads it. */
  function handle(stream: Duplex, remoteAddress: string): void {
    const release = connections.admit(remoteAddress, limits.maxConnectionsPerIp, limits.maxConnections);
    if (!release) {
      const perIp = connections.count(remoteAddress) >= limits.maxConnectionsPerIp;
      log.warn({ code: 'TESTBED_CONNECTION_LIMIT', remoteAddress, perIp, total: connections.total }, 'refused connection: over the connection cap');
      stream.on('error', () => {});
      stream.end(CONNACK_SERVER_UNAVAILABLE);
      setTimeout(() => stream.destroy(), 1000).unref();
      return;
    }
    peers.set(stream, remoteAddress);
    const limited = limitReads(stream, config.mqtt.maxPacketBytes, (length) =>
      log.warn({ remoteAddress, length, limit: config.mqtt.maxPacketBytes }, 'closed connection: MQTT packet over the size limit'),
    );
    const client = broker.handle(limited);
    leanParserBuffer(client);
    takeReadings(client, (c) => sessions.get(c), receiveReading);
    // After the broker's own, so that it has closed the client (and dropped its subscriptions) first. One
    // listener for both, and `on` (it fires once): each listener more, and each `once` wrapper, is memory held per connection.
    stream.on('close', () => {
      release();
      untrack(client);
    });
  }

  let listeners;
  try {
    listeners = await openListeners(config, deps.tls, (socket, peer) => handle(socket, peer), log);
  } catch (err) {
    clearInterval(sweep);
    offQueued?.();
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    throw err;
  }
  const opened = listeners;

  return {
    port: opened.port,
    tlsPort: opened.tlsPort,
    handle,
    connectedDevices: () => broker.connectedClients,
    disconnect(deviceId, reason = 'revoked') {
      for (const client of online.of(deviceId)) {
        log.info({ deviceId, clientId: client.id, reason }, 'disconnecting device');
        closing(client, reason);
        client.close();
      }
    },
    notify,
    async forgetDevice(deviceId) {
      lastSeen.delete(deviceId);
      messages.forget(deviceId);
      await desired.clear(deviceId);
    },
    async retainedMessages(deviceId) {
      let count = 0;
      for await (const packet of persistence.createRetainedStream(configTopic(deviceId, 'desired'))) if (packet) count++;
      return count;
    },
    isOnline: (deviceId) => online.count(deviceId) > 0,
    lastSeen: (deviceId) => lastSeen.get(deviceId),
    async stop() {
      clearInterval(sweep);
      offQueued?.();
      stopping = true;
      const closed = opened.close();
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await closed;
    },
  };
}
