import net from 'node:net';
import mqttPacket from 'mqtt-packet';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { deviceTopic } from '../core/topics.js';
import { provision, startTestPipeline, type TestPipeline } from './helpers/pipeline.js';
import { eventually } from './helpers/wait.js';
import { readDevice } from './helpers/readings.js';

const ALL = { kind: 'all' } as const;

/** A socket that sends packets as one write (so they reach the gateway in one chunk) and keeps what comes back. */
async function rawSocket(url: string) {
  const { hostname, port } = new URL(url);
  const socket = net.connect(Number(port), hostname);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const packets: mqttPacket.Packet[] = [];
  let closed = false;
  socket.on('data', (d) => parser.parse(d));
  socket.on('error', () => {});
  socket.on('close', () => (closed = true));
  parser.on('packet', (p) => packets.push(p));
  return {
    packets,
    closed: () => closed,
    send: (...list: mqttPacket.Packet[]) => socket.write(Buffer.concat(list.map((p) => mqttPacket.generate(p)))),
    sendRaw: (bytes: Buffer) => socket.write(bytes),
    /** Writes `bytes` in pieces cut at `cuts`, pausing between them so each tends to reach the gateway as a chunk of its own. */
    sendCut: async (bytes: Buffer, cuts: readonly number[]) => {
      socket.setNoDelay(true);
      let from = 0;
      for (const cut of [...cuts, bytes.length]) {
        socket.write(bytes.subarray(from, cut));
        from = cut;
        await sleep(3);
      }
    },
    end: () => socket.destroy(),
  };
}

/** A raw socket connected as the device, once its CONNACK has come; `topic` is its readings topic. */
async function connectedSocket(url: string, device: { id: string; username: string }, password: string) {
  const socket = await rawSocket(url);
  socket.send(connect(device.username, password));
  await eventually(() => socket.packets.find((x) => x.cmd === 'connack'), 5000, 'CONNACK');
  return { socket, topic: deviceTopic(device.id, 'readings') };
}

const connect = (username: string, password: string): mqttPacket.IConnectPacket => ({
  cmd: 'connect',
  protocolId: 'MQTT',
  protocolVersion: 4,
  clean: true,
  clientId: `raw-${Math.random().toString(36).slice(2)}`,
  keepalive: 30,
  username,
  password: Buffer.from(password),
});

const reading = (topic: string, n: number, qos: 0 | 1): mqttPacket.IPublishPacket => ({
  cmd: 'publish',
  topic,
  // pm25 within its range (at most 1000) however many readings a test sends.
  payload: JSON.stringify({ pm25: n % 1000, time: Date.UTC(2026, 2, 1) + n * 1000 }),
  qos,
  ...(qos === 1 && { messageId: n + 1 }),
  retain: false,
  dup: false,
});

const pubackIds = (packets: mqttPacket.Packet[]) => packets.filter((p) => p.cmd === 'puback').map((p) => (p as mqttPacket.IPubackPacket).messageId);

describe('readings taken from the parser: the same guarantees as through the broker', () => {
  let p: TestPipeline;

  beforeAll(async () => {
    p = await startTestPipeline();
  });
  afterAll(async () => {
    await p.close();
  });

  it('acknowledges readings sent in one chunk once each, in the order they came, and stores every one', async () => {
    const { devices } = await provision(p);
    const { device, password } = devices[0]!;
    const { socket, topic } = await connectedSocket(p.mqttUrl, device, password);
    // QoS 1 and QoS 0 mixed, with a PINGREQ among them: only QoS 1 readings are acknowledged.
    const sent = Array.from({ length: 300 }, (_, n) => reading(topic, n, n % 10 === 9 ? 0 : 1));
    socket.send(...sent.slice(0, 150), { cmd: 'pingreq' }, ...sent.slice(150));
    const expected = sent.filter((x) => x.qos === 1).map((x) => x.messageId);
    await eventually(() => (pubackIds(socket.packets).length >= expected.length ? true : undefined), 10_000, 'every PUBACK');
    expect(pubackIds(socket.packets)).toEqual(expected);
    expect(socket.packets.some((x) => x.cmd === 'pingresp')).toBe(true);
    const rows = await eventually(async () => {
      const r = await readDevice(p.stores.readings, device.id, { limit: 1000 }, ALL);
      return r.length === sent.length ? r : undefined;
    });
    expect(rows).toHaveLength(sent.length);
    socket.end();
  });

  it('acknowledges and stores readings whose packets are cut anywhere across chunks: in the fixed header, the topic, the identifier, the payload', async () => {
    const { devices } = await provision(p);
    const { device, password } = devices[0]!;
    const { socket, topic } = await connectedSocket(p.mqttUrl, device, password);
    const sent = Array.from({ length: 40 }, (_, n) => reading(topic, n, n % 4 === 3 ? 0 : 1));
    const frames = sent.map((x) => mqttPacket.generate(x));
    // Each packet cut at a different offset: 1 (inside the remaining length), 3 (the topic's length), into the topic, the identifier, the payload.
    const cuts: number[] = [];
    let start = 0;
    frames.forEach((frame, n) => {
      cuts.push(start + 1 + ((n * 7) % (frame.length - 1)));
      start += frame.length;
    });
    await socket.sendCut(Buffer.concat(frames), cuts);
    const expected = sent.filter((x) => x.qos === 1).map((x) => x.messageId);
    await eventually(() => (pubackIds(socket.packets).length >= expected.length ? true : undefined), 10_000, 'every PUBACK');
    expect(pubackIds(socket.packets)).toEqual(expected);
    const rows = await eventually(async () => {
      const r = await readDevice(p.stores.readings, device.id, { limit: 1000 }, ALL);
      return r.length === sent.length ? r : undefined;
    });
    expect(rows.map((r) => r.values.pm25).sort((a, b) => Number(a) - Number(b))).toEqual(sent.map((_, n) => n));
    expect(socket.closed()).toBe(false);
    socket.end();
  });

  it('hands a packet longer than the framing keeps to the parser across chunks, and frames the readings after it in the same chunk', async () => {
    const { devices } = await provision(p);
    const { device, password } = devices[0]!;
    const { socket, topic } = await connectedSocket(p.mqttUrl, device, password);
    // 100 KB: over the payload cap (a rejection, acknowledged), under the packet cap.
    const long: mqttPacket.IPublishPacket = { ...reading(topic, 0, 1), payload: JSON.stringify({ pm25: 1, pad: 'x'.repeat(100_000) }) };
    const after = [reading(topic, 1, 1), reading(topic, 2, 1)];
    const bytes = Buffer.concat([long, ...after].map((x) => mqttPacket.generate(x)));
    const longBytes = mqttPacket.generate(long).length;
    // The long packet arrives in four pieces; its last piece carries the readings after it.
    await socket.sendCut(bytes, [2000, 40_000, 80_000]);
    expect(longBytes).toBeGreaterThan(80_000);
    await eventually(() => (pubackIds(socket.packets).length === 3 ? true : undefined), 10_000, 'three PUBACKs');
    expect(pubackIds(socket.packets)).toEqual([1, 2, 3]);
    const rows = await eventually(async () => {
      const r = await readDevice(p.stores.readings, device.id, {}, ALL);
      return r.length === 2 ? r : undefined;
    });
    expect(rows.map((r) => r.values.pm25).sort()).toEqual([1, 2]);
    const rejected = await eventually(async () => {
      const r = await p.stores.rejections.queryRejections({ kind: 'all' }, { deviceId: device.id, limit: 10 });
      return r.length === 1 ? r : undefined;
    });
    expect(rejected[0]!.code).toBe('TESTBED_READING_TOO_LARGE');
    socket.end();
  });

  it('frames a flood from several devices, each in writes far larger than a socket read, storing every reading and answering PINGREQ meanwhile', async () => {
    // Devices held to their message rate would be read slowly on purpose; here they may flood.
    const p = await startTestPipeline({ TESTBED_DEVICE_MESSAGES_PER_SECOND: '1000000' });
    onTestFinished(() => p.close());
    const { devices } = await provision(p, 'air-quality', 4);
    const PER_DEVICE = 6000;
    const sockets = await Promise.all(devices.map(({ device, password }) => connectedSocket(p.mqttUrl, device, password)));
    // Each device's readings in one write of about 600 KB: far more than one turn's bytes. QoS 0 and 1 mixed, a PINGREQ in the middle.
    for (const { socket, topic } of sockets) {
      const frames = Array.from({ length: PER_DEVICE }, (_, n) => mqttPacket.generate(reading(topic, n, n % 3 === 0 ? 1 : 0)));
      frames.splice(PER_DEVICE / 2, 0, mqttPacket.generate({ cmd: 'pingreq' }));
      socket.send({ cmd: 'pingreq' });
      socket.sendRaw(Buffer.concat(frames));
    }
    const acked = Math.ceil(PER_DEVICE / 3);
    await eventually(() => (sockets.every(({ socket }) => pubackIds(socket.packets).length === acked) ? true : undefined), 30_000, 'every PUBACK');
    for (const { socket } of sockets) {
      expect(pubackIds(socket.packets)).toEqual(Array.from({ length: acked }, (_, k) => 3 * k + 1));
      expect(socket.packets.filter((x) => x.cmd === 'pingresp')).toHaveLength(2);
      expect(socket.closed()).toBe(false);
    }
    for (const { device } of devices) {
      await eventually(
        async () => ((await readDevice(p.stores.readings, device.id, { limit: PER_DEVICE + 1 }, ALL)).length === PER_DEVICE ? true : undefined),
        30_000,
        `all ${PER_DEVICE} readings of ${device.id}`,
      );
    }
    for (const { socket } of sockets) socket.end();
  }, 90_000);

  it('takes a reading sent in the same chunk as CONNECT (before CONNACK) through the broker, acknowledged and stored', async () => {
    const { devices } = await provision(p);
    const { device, password } = devices[0]!;
    const socket = await rawSocket(p.mqttUrl);
    const topic = deviceTopic(device.id, 'readings');
    socket.send(connect(device.username, password), reading(topic, 1, 1), reading(topic, 2, 1));
    await eventually(() => (pubackIds(socket.packets).length === 2 ? true : undefined), 5000, 'both PUBACKs');
    expect(pubackIds(socket.packets)).toEqual([2, 3]);
    await eventually(async () => ((await readDevice(p.stores.readings, device.id, {}, ALL)).length === 2 ? true : undefined));
    socket.end();
  });

  it('closes the connection, unacknowledged, on a reading for another device sent among its own', async () => {
    const { devices } = await provision(p, 'air-quality', 2);
    const [own, other] = devices;
    const { socket, topic } = await connectedSocket(p.mqttUrl, own!.device, own!.password);
    socket.send(reading(topic, 1, 1), { ...reading(deviceTopic(other!.device.id, 'readings'), 2, 1) });
    await eventually(() => (socket.closed() ? true : undefined), 5000, 'the connection closed');
    expect(pubackIds(socket.packets)).not.toContain(3);
    expect(await readDevice(p.stores.readings, other!.device.id, {}, ALL)).toHaveLength(0);
  });
});
