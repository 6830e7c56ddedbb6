import net from 'node:net';
import mqttPacket from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceTopic } from '../core/topics.js';
import { PacketLengthWatch, READ_BYTES, limitReads } from '../gateway/packet-limit.js';
import { provision, startTestPipeline, type TestPipeline } from './helpers/pipeline.js';
import { eventually } from './helpers/wait.js';

const publish = (length: number) => mqttPacket.generate({ cmd: 'publish', topic: 't', payload: Buffer.alloc(length, 120), qos: 0, dup: false, retain: false });

describe('packet length watch', () => {
  it('follows packets across chunk boundaries and lets those within the limit pass', () => {
    const watch = new PacketLengthWatch(1000);
    const stream = Buffer.concat([publish(10), publish(995 - 3), publish(0), publish(300)]);
    for (let i = 0; i < stream.length; i += 7) expect(watch.inspect(stream.subarray(i, i + 7))).toBeUndefined();
  });

  it('reports the first packet over the limit from its header alone', () => {
    const watch = new PacketLengthWatch(1000);
    expect(watch.inspect(publish(100))).toBeUndefined();
    const big = publish(5000);
    expect(watch.inspect(big.subarray(0, 3))).toBe(5000 + 3); // remaining length: topic (3 bytes) + payload
  });

  it('reports a remaining length longer than four bytes as malformed', () => {
    expect(new PacketLengthWatch(1 << 30).inspect(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]))).toBe(-1);
  });
});

describe('reads of a socket the readings path frames', () => {
  /** A connected pair of real sockets on 127.0.0.1, the server side paused as the broker keeps it. */
  async function socketPair() {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    const socket = await accepted;
    socket.pause();
    return { client, socket, close: () => (client.destroy(), socket.destroy(), server.close()) };
  }

  it('hand the broker at most READ_BYTES once the connection is framed (after CONNACK, MQTT 3.1.1), all of it on MQTT 5', async () => {
    const { client, socket, close } = await socketPair();
    // What the broker's client object says of the connection (Aedes sets `conn.client`).
    const connection = { connackSent: false, closed: false, version: 4 };
    Object.assign(socket, { client: connection });
    limitReads(socket, 1 << 20, () => {});
    client.write(Buffer.alloc(4 * READ_BYTES, 0x30));
    await eventually(() => (socket.readableLength >= 4 * READ_BYTES ? true : undefined), 5000, 'the bytes buffered');
    connection.connackSent = true;
    expect((socket.read() as Buffer).length).toBe(READ_BYTES);
    expect((socket.read() as Buffer).length).toBe(READ_BYTES);
    // MQTT 5 is not framed: the rest at once.
    connection.version = 5;
    expect((socket.read() as Buffer).length).toBe(2 * READ_BYTES);
    close();
  });

  it('hand the broker everything buffered before CONNACK', async () => {
    const { client, socket, close } = await socketPair();
    Object.assign(socket, { client: { connackSent: false, closed: false, version: 4 } });
    limitReads(socket, 1 << 20, () => {});
    client.write(Buffer.alloc(3 * READ_BYTES, 0x30));
    await eventually(() => (socket.readableLength >= 3 * READ_BYTES ? true : undefined), 5000, 'the bytes buffered');
    expect((socket.read() as Buffer).length).toBe(3 * READ_BYTES);
    close();
  });
});

describe('gateway packet size limit, over TCP', () => {
  let p: TestPipeline;
  beforeAll(async () => {
    p = await startTestPipeline({ TESTBED_MAX_PAYLOAD_BYTES: '1024', TESTBED_MAX_PACKET_BYTES: '4096' });
  });
  afterAll(async () => {
    await p.close();
  });

  async function closedAfter(bytes: Buffer): Promise<number> {
    const socket = net.connect(p.gateway.port!, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const started = Date.now();
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => {});
    socket.write(bytes);
    await closed;
    return Date.now() - started;
  }

  it('closes a connection whose CONNECT claims 200 MB, without waiting for the bytes', async () => {
    // CONNECT, remaining length 200 MB, and only the first few bytes of it.
    const header = Buffer.from([0x10, 0x80, 0x80, 0xe8, 0x5f, 0x00, 0x04]);
    expect(await closedAfter(header)).toBeLessThan(2000);
  });

  it('keeps a payload between the payload and packet limits as a rejection, and closes on a longer packet', async () => {
    const { devices } = await provision(p, 'noise');
    const { device, password } = devices[0]!;
    const socket = net.connect(p.gateway.port!, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => {}); // the server resets the connection
    socket.resume(); // read (and drop) what the server sends, or 'close' waits on it
    socket.write(
      mqttPacket.generate({
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 4,
        clean: true,
        clientId: 'big',
        keepalive: 30,
        username: device.username,
        password: Buffer.from(password),
      }),
    );
    const topic = deviceTopic(device.id, 'readings');
    socket.write(mqttPacket.generate({ cmd: 'publish', topic, payload: Buffer.alloc(2000, 32), qos: 0, dup: false, retain: false }));
    await eventually(async () => {
      const r = await p.stores.rejections.queryRejections({ kind: 'all' }, { deviceId: device.id, limit: 10 });
      return r.length > 0 ? r : undefined;
    }).then((r) => expect(r[0]!.code).toBe('TESTBED_READING_TOO_LARGE'));
    socket.write(mqttPacket.generate({ cmd: 'publish', topic, payload: Buffer.alloc(10_000, 32), qos: 0, dup: false, retain: false }));
    await closed;
  });
});
