import net from 'node:net';
import mqttPacket from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceTopic } from '../core/topics.js';
import { provision, startTestPipeline, type TestPipeline } from './helpers/pipeline.js';
import { eventually } from './helpers/wait.js';
import { readDevice } from './helpers/readings.js';

/**
 * A device whose PUBACK was lost sends the message again. These tests speak
 * MQTT byte by byte (mqtt-packet over a plain socket) to control the packet
 * identifier and the DUP flag exactly.
 */
class RawDevice {
  readonly #socket: net.Socket;
  readonly #parser = mqttPacket.parser({ protocolVersion: 4 });
  readonly #waiters: ((packet: mqttPacket.Packet) => void)[] = [];
  readonly #packets: mqttPacket.Packet[] = [];

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.on('data', (d) => this.#parser.parse(d));
    this.#parser.on('packet', (p) => {
      const waiter = this.#waiters.shift();
      if (waiter) waiter(p);
      else this.#packets.push(p);
    });
  }

  static async connect(port: number, username: string, password: string): Promise<RawDevice> {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const device = new RawDevice(socket);
    device.send({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clean: true,
      clientId: `raw-${Math.random()}`,
      keepalive: 30,
      username,
      password: Buffer.from(password),
    });
    const connack = await device.next();
    expect(connack).toMatchObject({ cmd: 'connack', returnCode: 0 });
    return device;
  }

  send(packet: mqttPacket.Packet): void {
    this.#socket.write(mqttPacket.generate(packet));
  }

  next(): Promise<mqttPacket.Packet> {
    const queued = this.#packets.shift();
    return queued ? Promise.resolve(queued) : new Promise((resolve) => this.#waiters.push(resolve));
  }

  async publish(topic: string, payload: string, messageId: number, dup: boolean): Promise<void> {
    this.send({ cmd: 'publish', topic, payload: Buffer.from(payload), qos: 1, messageId, dup, retain: false });
    expect(await this.next()).toMatchObject({ cmd: 'puback', messageId });
  }

  close(): void {
    this.#socket.destroy();
  }
}

describe('a message sent again after a lost PUBACK is stored once', () => {
  let p: TestPipeline;
  beforeAll(async () => {
    p = await startTestPipeline();
  });
  afterAll(async () => {
    await p.close();
  });

  async function storedTimes(deviceId: string, expected: number): Promise<number[]> {
    await eventually(
      async () => {
        const r = await readDevice(p.stores.readings, deviceId, { limit: 100 }, { kind: 'all' });
        return r.length >= expected ? r : undefined;
      },
      5000,
      `${expected} readings`,
    );
    await new Promise((r) => setTimeout(r, 300)); // a duplicate would be stored by now
    return (await readDevice(p.stores.readings, deviceId, { limit: 100 }, { kind: 'all' })).map((r) => r.time);
  }

  it('recognises a resend with DUP set, on the same connection or a new one', async () => {
    const { devices } = await provision(p, 'noise');
    const { device, password } = devices[0]!;
    const topic = deviceTopic(device.id, 'readings');
    const first = await RawDevice.connect(p.gateway.port!, device.username, password);
    await first.publish(topic, '{"laeq": 51.5}', 7, false);
    await first.publish(topic, '{"laeq": 51.5}', 7, true);
    first.close();
    const second = await RawDevice.connect(p.gateway.port!, device.username, password);
    await second.publish(topic, '{"laeq": 51.5}', 7, true);
    second.close();
    expect(await storedTimes(device.id, 1)).toHaveLength(1);
    expect(p.ingest.stats().duplicates).toBeGreaterThanOrEqual(2);
  });

  it('recognises a resend without DUP on a new connection (as mqtt.js sends it)', async () => {
    const { devices } = await provision(p, 'noise');
    const { device, password } = devices[0]!;
    const topic = deviceTopic(device.id, 'readings');
    const first = await RawDevice.connect(p.gateway.port!, device.username, password);
    await first.publish(topic, '{"laeq": 60}', 300, false);
    first.close();
    const second = await RawDevice.connect(p.gateway.port!, device.username, password);
    await second.publish(topic, '{"laeq": 60}', 300, false);
    second.close();
    expect(await storedTimes(device.id, 1)).toHaveLength(1);
  });

  it('stores a reused packet identifier on the same connection as a new reading', async () => {
    const { devices } = await provision(p, 'noise');
    const { device, password } = devices[0]!;
    const topic = deviceTopic(device.id, 'readings');
    const raw = await RawDevice.connect(p.gateway.port!, device.username, password);
    // Identifiers are free again once acknowledged [MQTT-2.3.1-6]: these are three readings.
    await raw.publish(topic, '{"laeq": 45}', 1, false);
    await raw.publish(topic, '{"laeq": 45}', 1, false);
    await raw.publish(topic, '{"laeq": 45}', 1, false);
    raw.close();
    expect(await storedTimes(device.id, 3)).toHaveLength(3);
  });

  it('stores a new payload under a used identifier, even with DUP set', async () => {
    const { devices } = await provision(p, 'noise');
    const { device, password } = devices[0]!;
    const topic = deviceTopic(device.id, 'readings');
    const raw = await RawDevice.connect(p.gateway.port!, device.username, password);
    await raw.publish(topic, '{"laeq": 45}', 9, false);
    await raw.publish(topic, '{"laeq": 46}', 9, true);
    raw.close();
    expect(await storedTimes(device.id, 2)).toHaveLength(2);
  });
});
