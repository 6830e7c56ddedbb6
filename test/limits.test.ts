import net from 'node:net';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { deviceTopic } from '../core/topics.js';
import { eventually, provision, startTestPipeline, type TestPipeline } from './helpers/pipeline.js';
import { readDevice } from './helpers/readings.js';

/** Limits tried from the outside, as a hostile or careless client meets them. */
function harness(env: Record<string, string>) {
  const state = { p: undefined as unknown as TestPipeline, clients: [] as MqttClient[] };
  beforeAll(async () => {
    state.p = await startTestPipeline(env);
  });
  afterEach(async () => {
    await Promise.all(state.clients.splice(0).map((c) => c.endAsync(true)));
    await new Promise((r) => setTimeout(r, 100)); // the gateway sees the sockets close
  });
  afterAll(async () => {
    await state.p.close();
  });
  const connect = async (username: string, password: string, options: IClientOptions = {}) => {
    const client = await mqtt.connectAsync(state.p.mqttUrl, { username, password, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000, ...options });
    state.clients.push(client);
    return client;
  };
  const connack = (username: string, password: string, options: IClientOptions = {}) =>
    connect(username, password, options).then(
      () => 0,
      (err: { code?: number }) => err.code,
    );
  return { state, connect, connack };
}

const closeOf = (client: MqttClient) => new Promise<void>((resolve) => client.once('close', () => resolve()));

describe('MQTT limits', () => {
  const { state, connect, connack } = harness({
    TESTBED_MQTT_MAX_CONNECTIONS_PER_IP: '4',
    TESTBED_MQTT_MAX_CONNECTIONS_PER_DEVICE: '2',
    TESTBED_MQTT_CONNECT_TIMEOUT_SECONDS: '1',
    TESTBED_MQTT_MAX_KEEPALIVE_SECONDS: '1',
  });

  it('refuses connections beyond the per-address cap with CONNACK 3, and takes them again once some close', async () => {
    const { devices } = await provision(state.p, 'noise', 5);
    for (const d of devices.slice(0, 4)) await connect(d.device.username, d.password);
    const last = devices[4]!;
    expect(await connack(last.device.username, last.password)).toBe(3);
    await state.clients.shift()!.endAsync();
    expect(await connack(last.device.username, last.password)).toBe(0);
  });

  it('caps the connections of one device, but lets the same client id take over', async () => {
    const { device, password } = (await provision(state.p, 'noise', 1)).devices[0]!;
    await connect(device.username, password, { clientId: 'a' });
    await connect(device.username, password, { clientId: 'b' });
    expect(await connack(device.username, password, { clientId: 'c' })).toBe(3);
    expect(await connack(device.username, password, { clientId: 'b' })).toBe(0);
  });

  it('closes a socket that sends no CONNECT within the connect timeout', async () => {
    const socket = net.connect(state.p.gateway.port!, '127.0.0.1');
    const started = Date.now();
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('replaces keepalive 0 by the maximum: a silent connection is closed', async () => {
    const { device, password } = (await provision(state.p, 'noise', 1)).devices[0]!;
    const client = await connect(device.username, password, { keepalive: 0 });
    const started = Date.now();
    await closeOf(client);
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it('closes the connection on a QoS 2 PUBLISH and stores nothing from it', async () => {
    const { device, password } = (await provision(state.p, 'noise', 1)).devices[0]!;
    const client = await connect(device.username, password);
    const closed = closeOf(client);
    client.publish(deviceTopic(device.id, 'readings'), JSON.stringify({ laeq: 1 }), { qos: 2 });
    await closed;
    expect(await readDevice(state.p.stores.readings, device.id, { limit: 10 })).toEqual([]);
  });

  it('refuses a will on a foreign topic or at QoS 2 at CONNECT, and takes one on the own status topic', async () => {
    const [a, b] = (await provision(state.p, 'noise', 2)).devices as [
      Awaited<ReturnType<typeof provision>>['devices'][0],
      Awaited<ReturnType<typeof provision>>['devices'][0],
    ];
    const will = (topic: string, qos: 0 | 1 | 2) => ({ will: { topic, payload: Buffer.from('gone'), qos, retain: false } });
    expect(await connack(a.device.username, a.password, will(deviceTopic(b.device.id, 'readings'), 0))).toBe(5);
    expect(await connack(a.device.username, a.password, will(deviceTopic(a.device.id, 'status'), 2))).toBe(5);
    expect(await connack(a.device.username, a.password, will(deviceTopic(a.device.id, 'status'), 1))).toBe(0);
  });
});

describe('MQTT message rate', () => {
  const { state, connect } = harness({ TESTBED_DEVICE_MESSAGES_PER_SECOND: '5' });

  it('slows a device beyond its message rate (PUBACKs come later) without losing a reading', async () => {
    const { device, password } = (await provision(state.p, 'noise', 1)).devices[0]!;
    const client = await connect(device.username, password);
    const started = Date.now();
    // 5 a second with bursts of 50: 60 messages need about 2 s.
    await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        client.publishAsync(deviceTopic(device.id, 'readings'), JSON.stringify({ laeq: i, time: 1772359200000 + i * 1000 }), { qos: 1 }),
      ),
    );
    expect(Date.now() - started).toBeGreaterThan(1500);
    // Acknowledged means queued durably; the store has them all shortly after.
    await eventually(async () => {
      const rows = await readDevice(state.p.stores.readings, device.id, { limit: 100 });
      return rows.length === 60 ? rows : undefined;
    });
  });
});

describe('MQTT login throttling', () => {
  const { state, connack } = harness({});

  it('after 5 failures from one address, refuses even the right password from it with CONNACK 5', async () => {
    const { device, password } = (await provision(state.p, 'noise', 1)).devices[0]!;
    for (let i = 0; i < 5; i++) expect(await connack(device.username, `guess-${i}`)).toBe(4);
    expect(await connack(device.username, 'guess-5')).toBe(4);
    expect(await connack(device.username, password)).toBe(5);
  });
});

describe('MQTT CONNECT rate', () => {
  const { state, connack } = harness({ TESTBED_MQTT_CONNECTS_PER_SECOND_PER_IP: '1' });

  it('refuses CONNECTs beyond the burst from one address with CONNACK 3', async () => {
    const { device, password } = (await provision(state.p, 'noise', 1)).devices[0]!;
    const codes: (number | undefined)[] = [];
    for (let i = 0; i < 12; i++)
      codes.push(
        await connack(device.username, password, { clientId: `c${i}` }).then((c) => (state.clients.length > 1 && state.clients.shift()!.end(true), c)),
      );
    expect(codes.slice(0, 10).every((c) => c === 0)).toBe(true);
    expect(codes.slice(10)).toContain(3);
  });
});

describe('HTTP limits', () => {
  const { state } = harness({ TESTBED_HTTP_MAX_CONNECTIONS_PER_IP: '3', TESTBED_HTTP_HEADERS_TIMEOUT_SECONDS: '1' });
  const port = () => Number(new URL(state.p.apiUrl).port);

  it('closes a half-sent request within the header timeout', async () => {
    const socket = net.connect(port(), '127.0.0.1');
    socket.write('GET /v1/health HTTP/1.1\r\nHost: x\r\n');
    const started = Date.now();
    await new Promise<void>((resolve) => socket.once('close', () => resolve()).resume());
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('answers 503 TESTBED_CONNECTION_LIMIT on a socket beyond the per-address cap', async () => {
    const held = await Promise.all(
      Array.from(
        { length: 3 },
        () =>
          new Promise<net.Socket>((resolve) => {
            const s = net.connect(port(), '127.0.0.1', () => resolve(s));
          }),
      ),
    );
    try {
      const response = await fetch(`${state.p.apiUrl}/v1/health`);
      expect(response.status).toBe(503);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('TESTBED_CONNECTION_LIMIT');
    } finally {
      held.forEach((s) => s.destroy());
    }
  });
});
