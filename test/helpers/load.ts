import mqtt, { type MqttClient } from 'mqtt';
import { setTimeout as sleep } from 'node:timers/promises';
import { deviceTopic } from '../../core/topics.js';

export interface LoadDevice {
  readonly deviceId: string;
  readonly username: string;
  readonly password: string;
}

export interface LoadOptions {
  readonly url: string;
  readonly devices: readonly LoadDevice[];
  readonly perDevice: number;
  /** The payload of reading `i` of device number `d`. */
  payload(d: number, i: number): string;
  /** Publishes per device between pauses of `pauseMs`. */
  readonly burst: number;
  readonly pauseMs: number;
}

export interface Load {
  readonly published: number;
  /** PUBACKs received: counted on the device side. */
  readonly acknowledged: number;
  /** Resolves once every reading is acknowledged, or rejects after `timeoutMs`. */
  allAcknowledged(timeoutMs: number): Promise<void>;
  /**
   * Resolves once publishing is over and acknowledgements have stopped coming
   * (all in, or none for `quietMs`). A client may give up on a message in
   * flight when its connection drops (mqtt.js sometimes does), so not every
   * published reading need be acknowledged; every acknowledged one must be stored.
   */
  settled(quietMs: number, timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * QoS 1 load from real `mqtt` clients with persistent sessions, which reconnect
 * on their own (every 200 ms) and resend what was not acknowledged
 * [MQTT-4.4.0-1], as devices in the field do.
 */
export function startLoad(options: LoadOptions): Load {
  const counts = { published: 0, acknowledged: 0 };
  const clients: MqttClient[] = options.devices.map((d) =>
    mqtt.connect(options.url, {
      username: d.username,
      password: d.password,
      clientId: `load-${d.deviceId}`,
      protocolVersion: 4,
      reconnectPeriod: 200,
      connectTimeout: 2000,
      clean: false,
    }),
  );
  for (const c of clients) {
    c.on('error', () => {});
    // Count PUBACKs as they arrive on the wire. mqtt.js fails the callback of a message in
    // flight when the connection drops, then resends it and takes the PUBACK silently.
    c.on('packetreceive', (packet) => {
      if (packet.cmd === 'puback') counts.acknowledged++;
    });
  }
  const publishing = Promise.all(
    options.devices.map(async (device, d) => {
      const client = clients[d]!;
      const topic = deviceTopic(device.deviceId, 'readings');
      for (let i = 0; i < options.perDevice; i++) {
        client.publish(topic, options.payload(d, i), { qos: 1 });
        counts.published++;
        if ((i + 1) % options.burst === 0) await sleep(options.pauseMs);
      }
    }),
  );
  return {
    get published() {
      return counts.published;
    },
    get acknowledged() {
      return counts.acknowledged;
    },
    async allAcknowledged(timeoutMs) {
      await publishing;
      const deadline = Date.now() + timeoutMs;
      while (counts.acknowledged < options.devices.length * options.perDevice) {
        if (Date.now() > deadline) throw new Error(`only ${counts.acknowledged} of ${counts.published} acknowledged after ${timeoutMs} ms`);
        await sleep(50);
      }
    },
    async settled(quietMs, timeoutMs) {
      await publishing;
      const deadline = Date.now() + timeoutMs;
      let last = -1;
      let since = Date.now();
      while (counts.acknowledged < counts.published && Date.now() - since < quietMs) {
        if (Date.now() > deadline) throw new Error(`acknowledgements still coming after ${timeoutMs} ms`);
        if (counts.acknowledged !== last) {
          last = counts.acknowledged;
          since = Date.now();
        }
        await sleep(50);
      }
    },
    async close() {
      await Promise.all(clients.map((c) => c.endAsync(true)));
    },
  };
}
