import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceTopic } from '../core/topics.js';
import { ADMIN_TOKEN, provision, startTestPipeline, type TestPipeline } from './helpers/pipeline.js';
import { eventually } from './helpers/wait.js';

/** The stages wired together: what the API does to the gateway's connections, and what ingest feeds the API. */
describe('pipeline wiring', () => {
  let p: TestPipeline;
  beforeAll(async () => {
    p = await startTestPipeline();
  });
  afterAll(async () => {
    await p.close();
  });

  const connect = (username: string, password: string) =>
    mqtt.connectAsync(p.mqttUrl, { username, password, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 3000 });
  const closeOf = (client: MqttClient) => new Promise<void>((resolve) => client.once('close', () => resolve()));
  const admin = (method: string, path: string) =>
    fetch(`${p.apiUrl}${path}`, { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }).then(async (r) => ({
      status: r.status,
      body: (await r.json()) as Record<string, any>,
    }));

  it('shows a connected device as online, and when it was last seen', async () => {
    const { devices } = await provision(p, 'noise');
    const { device, password } = devices[0]!;
    expect((await admin('GET', `/v1/devices/${device.id}`)).body.connection).toMatchObject({ online: false });
    const client = await connect(device.username, password);
    const view = await admin('GET', `/v1/devices/${device.id}`);
    expect(view.body.connection.online).toBe(true);
    expect(Date.parse(view.body.connection.lastSeen)).toBeGreaterThan(Date.now() - 10_000);
    await client.endAsync();
    await eventually(async () => ((await admin('GET', `/v1/devices/${device.id}`)).body.connection.online === false ? true : undefined));
  });

  it('closes the connection of a device whose secret is rotated; the old password stops working', async () => {
    const { devices } = await provision(p, 'noise');
    const { device, password } = devices[0]!;
    const client = await connect(device.username, password);
    const closed = closeOf(client);
    const rotated = await admin('POST', `/v1/devices/${device.id}/rotate-secret`);
    expect(rotated.status).toBe(200);
    await closed;
    await expect(connect(device.username, password)).rejects.toMatchObject({ code: 4 });
    const fresh = await connect(device.username, rotated.body.mqtt.password);
    await fresh.endAsync();
  });

  it('closes the connection of a revoked device, which can never connect again', async () => {
    const { devices } = await provision(p, 'noise');
    const { device, password } = devices[0]!;
    const client = await connect(device.username, password);
    const closed = closeOf(client);
    expect((await admin('POST', `/v1/devices/${device.id}/revoke`)).status).toBe(200);
    await closed;
    await expect(connect(device.username, password)).rejects.toMatchObject({ code: 4 });
  });

  it('streams readings to a live subscriber as they are stored', async () => {
    const { pilot, devices } = await provision(p, 'noise');
    const { device, password } = devices[0]!;
    const abort = new AbortController();
    const res = await fetch(`${p.apiUrl}/v1/pilots/${pilot.id}/live`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, signal: abort.signal });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const client = await connect(device.username, password);
    await client.publishAsync(deviceTopic(device.id, 'readings'), JSON.stringify({ laeq: 63.5, time: '2026-11-01T10:00:00Z' }), { qos: 1 });
    let text = '';
    while (!text.includes('63.5')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    expect(text).toContain(`"deviceId":"${device.id}"`);
    expect(text).toContain('"time":"2026-11-01T10:00:00.000Z"');
    abort.abort();
    await client.endAsync();
  });
});

describe('the broker address devices are told', () => {
  it('is TESTBED_PUBLIC_MQTT_URL when set, for a gateway behind a balancer or a public name', async () => {
    const p = await startTestPipeline({ TESTBED_PUBLIC_MQTT_URL: 'mqtts://testbed.example.org:8883' });
    try {
      const { pilot } = await provision(p, 'noise', 0);
      const res = await fetch(`${p.apiUrl}/v1/pilots/${pilot.id}/devices`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ profile: 'noise' }),
      });
      expect(res.status).toBe(201);
      expect(((await res.json()) as { mqtt: { url: string } }).mqtt.url).toBe('mqtts://testbed.example.org:8883');
    } finally {
      await p.close();
    }
  });
});
