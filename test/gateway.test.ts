import net from 'node:net';
import mqttPacket from 'mqtt-packet';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { deviceTopic } from '../core/topics.js';
import { ADMIN_TOKEN, eventually, provision, startTestPipeline, type TestPipeline } from './helpers/pipeline.js';
import { readDevice } from './helpers/readings.js';

const ALL = { kind: 'all' } as const;

const closeOf = (client: MqttClient) => new Promise<void>((resolve) => client.once('close', () => resolve()));

describe('gateway: real MQTT over TCP against the whole pipeline', () => {
  let p: TestPipeline;
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    p = await startTestPipeline();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  });
  afterAll(async () => {
    await p.close();
  });

  async function connect(username: string, password: string, options: IClientOptions = {}): Promise<MqttClient> {
    const client = await mqtt.connectAsync(p.mqttUrl, {
      username,
      password,
      protocolVersion: 4,
      reconnectPeriod: 0,
      connectTimeout: 5000,
      ...options,
    });
    clients.push(client);
    return client;
  }

  async function connackCode(username: string, password: string): Promise<number | undefined> {
    try {
      await connect(username, password);
      return 0;
    } catch (err) {
      return (err as { code?: number }).code;
    }
  }

  it('stores readings published at QoS 0 and QoS 1 with their values and times', async () => {
    const { devices } = await provision(p, 'air-quality');
    const { device, password } = devices[0]!;
    const client = await connect(device.username, password);
    const topic = deviceTopic(device.id, 'readings');
    await client.publishAsync(topic, JSON.stringify({ pm25: 4.5, pm10: 9.25, time: '2026-03-01T10:00:00Z' }), { qos: 1 });
    await client.publishAsync(topic, JSON.stringify({ temperature: -7.5, humidity: 91, time: 1772359260000 }), { qos: 0 });

    const rows = await eventually(
      async () => {
        const r = await readDevice(p.stores.readings, device.id, { limit: 10 }, ALL);
        return r.length === 2 ? r : undefined;
      },
      5000,
      'two stored readings',
    );
    expect(rows).toEqual([
      { time: Date.parse('2026-03-01T10:00:00Z'), values: { pm25: 4.5, pm10: 9.25 } },
      { time: 1772359260000, values: { temperature: -7.5, humidity: 91 } },
    ]);
  });

  it('stamps a reading without a time with the time of receipt', async () => {
    const { devices } = await provision(p, 'noise');
    const { device, password } = devices[0]!;
    const client = await connect(device.username, password);
    const before = Date.now();
    await client.publishAsync(deviceTopic(device.id, 'readings'), JSON.stringify({ laeq: 55.5 }), { qos: 1 });
    const after = Date.now();
    const [row] = await eventually(async () => {
      const r = await readDevice(p.stores.readings, device.id, { limit: 10 }, ALL);
      return r.length > 0 ? r : undefined;
    });
    expect(row!.values).toEqual({ laeq: 55.5 });
    expect(row!.time).toBeGreaterThanOrEqual(before);
    expect(row!.time).toBeLessThanOrEqual(after);
  });

  it('keeps readings sent in the same millisecond apart', async () => {
    const { devices } = await provision(p, 'noise');
    const { device, password } = devices[0]!;
    const client = await connect(device.username, password);
    const topic = deviceTopic(device.id, 'readings');
    await Promise.all(Array.from({ length: 50 }, (_, i) => client.publishAsync(topic, JSON.stringify({ laeq: 40 + i / 10 }), { qos: 1 })));
    const rows = await eventually(
      async () => {
        const r = await readDevice(p.stores.readings, device.id, { limit: 100 }, ALL);
        return r.length === 50 ? r : undefined;
      },
      5000,
      '50 readings',
    );
    expect(new Set(rows.map((r) => r.time)).size).toBe(50);
  });

  it('refuses a wrong password and an unknown username at CONNECT (return code 4)', async () => {
    const { devices } = await provision(p);
    const { device, password } = devices[0]!;
    expect(await connackCode(device.username, `${password}x`)).toBe(4);
    expect(await connackCode('dev_nosuchdevice', password)).toBe(4);
    expect(await connackCode(device.username, '')).toBe(4);
  });

  it('refuses devices of a pilot that has not started or has ended (return code 5)', async () => {
    const future = await provision(p, 'air-quality', 1, { startsAt: new Date(Date.now() + 86_400_000).toISOString() });
    const past = await provision(p, 'air-quality', 1, {
      startsAt: new Date(Date.now() - 2 * 86_400_000).toISOString(),
      endsAt: new Date(Date.now() - 86_400_000).toISOString(),
    });
    expect(await connackCode(future.devices[0]!.device.username, future.devices[0]!.password)).toBe(5);
    expect(await connackCode(past.devices[0]!.device.username, past.devices[0]!.password)).toBe(5);
  });

  it('turns an invalid payload into a rejection and tells the device on its errors topic', async () => {
    const { devices } = await provision(p, 'air-quality');
    const { device, password } = devices[0]!;
    const client = await connect(device.username, password);
    await client.subscribeAsync(deviceTopic(device.id, 'errors'), { qos: 0 });
    const notice = new Promise<[string, Buffer]>((resolve) => client.once('message', (topic, payload) => resolve([topic, payload])));
    await client.publishAsync(deviceTopic(device.id, 'readings'), JSON.stringify({ pm25: 5000 }), { qos: 1 });
    const [topic, payload] = await notice;
    expect(topic).toBe(deviceTopic(device.id, 'errors'));
    expect(JSON.parse(payload.toString())).toMatchObject({ code: 'TESTBED_READING_OUT_OF_RANGE' });

    await client.publishAsync(deviceTopic(device.id, 'readings'), 'not json', { qos: 1 });
    const rejections = await eventually(
      async () => {
        const r = await p.stores.rejections.queryRejections(ALL, { deviceId: device.id, limit: 10 });
        return r.length === 2 ? r : undefined;
      },
      5000,
      'two rejections',
    );
    expect(rejections.map((r) => r.code)).toEqual(['TESTBED_READING_OUT_OF_RANGE', 'TESTBED_READING_NOT_JSON']);
    expect(rejections[0]!.reason).toContain('pm25 must be at most 1000');
    expect(rejections[1]!.payload).toBe('not json');
    expect(await readDevice(p.stores.readings, device.id, { limit: 10 }, ALL)).toEqual([]);
  });

  it('keeps an oversized payload as a rejection with the payload capped', async () => {
    const { devices } = await provision(p, 'air-quality');
    const { device, password } = devices[0]!;
    const client = await connect(device.username, password);
    const big = JSON.stringify({ pm25: 1, pad: 'x'.repeat(p.config.ingest.maxPayloadBytes) });
    await client.publishAsync(deviceTopic(device.id, 'readings'), big, { qos: 1 });
    const [rejection] = await eventually(async () => {
      const r = await p.stores.rejections.queryRejections(ALL, { deviceId: device.id, limit: 10 });
      return r.length > 0 ? r : undefined;
    });
    expect(rejection!.code).toBe('TESTBED_READING_TOO_LARGE');
    expect(rejection!.payloadBytes).toBe(Buffer.byteLength(big));
    expect(rejection!.payload.length).toBeLessThan(big.length);
  });

  it("closes the connection of a device that publishes to another device's topic, storing nothing", async () => {
    const { devices } = await provision(p, 'air-quality', 2);
    const [a, b] = devices as [(typeof devices)[0], (typeof devices)[0]];
    const client = await connect(a.device.username, a.password);
    const closed = closeOf(client);
    client.publish(deviceTopic(b.device.id, 'readings'), JSON.stringify({ pm25: 1 }), { qos: 0 });
    await closed;
    // A publish to a topic outside devices/ is refused the same way.
    const again = await connect(a.device.username, a.password);
    const closedAgain = closeOf(again);
    again.publish('city/helsinki/anything', JSON.stringify({ pm25: 1 }), { qos: 0 });
    await closedAgain;
    await new Promise((r) => setTimeout(r, 100));
    expect(await readDevice(p.stores.readings, b.device.id, { limit: 10 }, ALL)).toEqual([]);
  });

  it("refuses subscriptions that could match another device's topics (SUBACK 0x80)", async () => {
    const { devices } = await provision(p, 'air-quality', 2);
    const [a, b] = devices as [(typeof devices)[0], (typeof devices)[0]];
    const client = await connect(a.device.username, a.password);
    const filters = [deviceTopic(a.device.id, 'errors'), `devices/${a.device.id}/#`, deviceTopic(b.device.id, 'errors'), 'devices/+/errors', '#', 'devices/#'];
    // mqtt.js rejects a SUBSCRIBE with any failed filter; the SUBACK's return codes come with the error.
    const suback = await client.subscribeAsync(filters, { qos: 0 }).then(
      () => undefined,
      (err: { packet?: { granted?: number[] } }) => err.packet?.granted,
    );
    expect(suback).toEqual([0, 0, 0x80, 0x80, 0x80, 0x80]);
    expect(client.connected).toBe(true);
  });

  it('scopes client ids to their device: another device using the same client id neither takes over nor is refused', async () => {
    const { devices } = await provision(p, 'air-quality', 2);
    const [a, b] = devices as [(typeof devices)[0], (typeof devices)[0]];
    const first = await connect(a.device.username, a.password, { clientId: a.device.id });
    const squatter = await connect(b.device.username, b.password, { clientId: a.device.id });
    // The squatter's session is its own: the first device keeps its connection and can reconnect.
    await new Promise((r) => setTimeout(r, 200));
    expect(first.connected).toBe(true);
    expect(squatter.connected).toBe(true);
    await first.endAsync();
    const again = await connect(a.device.username, a.password, { clientId: a.device.id });
    await again.publishAsync(deviceTopic(a.device.id, 'readings'), JSON.stringify({ pm25: 1 }), { qos: 1 });
  });
  it('shows a device offline once all its connections are gone, even one closed for a policy violation right after CONNECT', async () => {
    const { devices } = await provision(p, 'noise', 2);
    const [d, other] = [devices[0]!, devices[1]!];
    const state = async () => {
      const r = await fetch(`${p.apiUrl}/v1/devices/${d.device.id}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      return ((await r.json()) as { connection: { online: boolean; lastSeen: string | null } }).connection;
    };
    const subscriber = await connect(d.device.username, d.password);
    await subscriber.subscribeAsync(deviceTopic(d.device.id, 'errors'));
    for (let i = 0; i < 5; i++) {
      // CONNECT and a PUBLISH to another device's topic in one write: the gateway closes the
      // connection while the broker is still setting the session up.
      const socket = net.connect(p.gateway.port!, '127.0.0.1');
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      const connect = mqttPacket.generate({
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 4,
        clean: true,
        clientId: `offender-${i}`,
        keepalive: 30,
        username: d.device.username,
        password: Buffer.from(d.password),
      });
      const publish = mqttPacket.generate({
        cmd: 'publish',
        topic: deviceTopic(other.device.id, 'readings'),
        payload: '{"noise_level":40}',
        qos: 1,
        messageId: 1,
        retain: false,
        dup: false,
      });
      socket.on('error', () => {}).resume();
      socket.write(Buffer.concat([connect, publish]));
      await closed;
    }
    expect((await state()).online).toBe(true);
    await subscriber.endAsync();
    const after = await eventually(
      async () => {
        const c = await state();
        return c.online ? undefined : c;
      },
      3000,
      'the device offline',
    );
    expect(after.lastSeen).not.toBeNull();
    expect(p.gateway.isOnline(d.device.id)).toBe(false);
  });
  it('never routes readings to subscribers, not even the device subscribed to all of its own topics', async () => {
    const { devices } = await provision(p, 'air-quality');
    const { device, password } = devices[0]!;
    const client = await connect(device.username, password);
    const received: string[] = [];
    client.on('message', (topic) => received.push(topic));
    await client.subscribeAsync(`devices/${device.id}/#`, { qos: 1 });
    await client.publishAsync(deviceTopic(device.id, 'readings'), JSON.stringify({ pm25: 3, pm10: 6, time: '2026-03-01T11:00:00Z' }), { qos: 1 });
    // A bad reading: its error notice comes back on the same subscription, so the subscription works.
    await client.publishAsync(deviceTopic(device.id, 'readings'), 'not json', { qos: 1 });
    await eventually(async () => (received.includes(deviceTopic(device.id, 'errors')) ? true : undefined));
    await eventually(async () => ((await readDevice(p.stores.readings, device.id, { limit: 10 }, ALL)).length === 1 ? true : undefined));
    expect(received).not.toContain(deviceTopic(device.id, 'readings'));
  });
});
