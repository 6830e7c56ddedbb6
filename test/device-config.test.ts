import fs from 'node:fs';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { configTopic, deviceTopic } from '../core/topics.js';
import { ADMIN_TOKEN, eventually, provision, startTestPipeline, type TestPipeline } from './helpers/pipeline.js';

/*
 * Desired and reported configuration end to end: the API over real HTTP, real
 * mqtt clients over TCP as the devices, the registry on disk, across a restart.
 */

interface Desired {
  readonly version: number;
  readonly config: Record<string, unknown>;
  readonly retain: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function api(p: TestPipeline, method: string, path: string, body?: unknown) {
  const res = await fetch(`${p.apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** A device subscribed at QoS 1 to its desired configuration (and its errors), recording what it receives. */
async function device(p: TestPipeline, d: { id: string; username: string }, password: string, clients: MqttClient[]) {
  const client = await mqtt.connectAsync(p.mqttUrl, { username: d.username, password, protocolVersion: 4, reconnectPeriod: 0 });
  clients.push(client);
  const desired: Desired[] = [];
  const notices: { code: string; reason: string }[] = [];
  client.on('message', (topic, payload, packet) => {
    if (topic === configTopic(d.id, 'desired')) desired.push({ ...(JSON.parse(payload.toString()) as Desired), retain: packet.retain });
    if (topic === deviceTopic(d.id, 'errors')) notices.push(JSON.parse(payload.toString()) as { code: string; reason: string });
  });
  await client.subscribeAsync(deviceTopic(d.id, 'errors'), { qos: 0 });
  await client.subscribeAsync(configTopic(d.id, 'desired'), { qos: 1 });
  return { client, desired, notices };
}

describe('desired and reported configuration', () => {
  let p: TestPipeline;
  const clients: MqttClient[] = [];
  beforeAll(async () => {
    p = await startTestPipeline();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  });
  afterAll(async () => p?.close());

  it('sends the desired document at QoS 1 to a subscribed device, and each new version; the report shows the delta closing', async () => {
    const { devices } = await provision(p, 'safety-beacon');
    const { device: d, password } = devices[0]!;
    const dev = await device(p, d, password, clients);

    const set = await api(p, 'PUT', `/v1/devices/${d.id}/config/desired`, { reportingIntervalSeconds: 60, ledEnabled: false });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({
      desired: { version: 1, config: { reportingIntervalSeconds: 60, ledEnabled: false }, updatedBy: 'admin' },
      reported: null,
    });
    expect(set.body.inSync).toBe(false);
    expect(set.body.delta).toEqual({ reportingIntervalSeconds: { desired: 60 }, ledEnabled: { desired: false } });
    await eventually(() => (dev.desired.length > 0 ? true : undefined));
    expect(dev.desired[0]).toMatchObject({ version: 1, config: { reportingIntervalSeconds: 60, ledEnabled: false } });

    // The device applied half of it.
    await dev.client.publishAsync(configTopic(d.id, 'reported'), JSON.stringify({ version: 1, config: { reportingIntervalSeconds: 60, ledEnabled: true } }), {
      qos: 1,
    });
    const half = (await api(p, 'GET', `/v1/devices/${d.id}/config`)).body;
    expect(half).toMatchObject({ reported: { version: 1, config: { reportingIntervalSeconds: 60, ledEnabled: true } }, inSync: false });
    expect(half.delta).toEqual({ ledEnabled: { desired: false, reported: true } });

    const again = await api(p, 'PUT', `/v1/devices/${d.id}/config/desired`, { reportingIntervalSeconds: 30, ledEnabled: true });
    expect((again.body.desired as { version: number }).version).toBe(2);
    await eventually(() => (dev.desired.length > 1 ? true : undefined));
    expect(dev.desired[1]).toMatchObject({ version: 2, config: { reportingIntervalSeconds: 30, ledEnabled: true } });
    await dev.client.publishAsync(configTopic(d.id, 'reported'), JSON.stringify({ version: 2, config: { reportingIntervalSeconds: 30, ledEnabled: true } }), {
      qos: 1,
    });
    expect((await api(p, 'GET', `/v1/devices/${d.id}/config`)).body).toMatchObject({ inSync: true, delta: {}, reported: { version: 2 } });
    await sleep(1200); // a sweep: nothing is sent again
    expect(dev.desired).toHaveLength(2);
  });

  it('gives a device that subscribes later the current document, retained', async () => {
    const { devices } = await provision(p, 'weather');
    const { device: d, password } = devices[0]!;
    await api(p, 'PUT', `/v1/devices/${d.id}/config/desired`, { reportingIntervalSeconds: 120 });
    await api(p, 'PUT', `/v1/devices/${d.id}/config/desired`, { reportingIntervalSeconds: 600 });
    const dev = await device(p, d, password, clients);
    await eventually(() => (dev.desired.length > 0 ? true : undefined));
    await sleep(300);
    expect(dev.desired).toEqual([{ version: 2, config: { reportingIntervalSeconds: 600 }, retain: true }]);
  });

  it('refuses a desired document outside the profile with 400 naming every problem, and stores nothing', async () => {
    const { devices } = await provision(p, 'weather');
    const id = devices[0]!.device.id;
    const bad = await api(p, 'PUT', `/v1/devices/${id}/config/desired`, { reportingIntervalSeconds: 2, colour: 'red' });
    expect(bad.status).toBe(400);
    const details = (bad.body.error as { details: { field: string }[] }).details;
    expect(details.map((x) => x.field).sort()).toEqual(['colour', 'reportingIntervalSeconds']);
    expect((await api(p, 'PUT', `/v1/devices/${id}/config/desired`, { reportingIntervalSeconds: 30.5 })).status).toBe(400);
    expect((await api(p, 'PUT', `/v1/devices/${id}/config/desired`, [1, 2])).status).toBe(400);
    expect((await api(p, 'GET', `/v1/devices/${id}/config`)).body).toEqual({ deviceId: id, desired: null, reported: null, delta: {}, inSync: true });
  });

  it('refuses a report that is malformed or outside the profile, with a notice, and keeps the last good one', async () => {
    const { devices } = await provision(p, 'weather');
    const { device: d, password } = devices[0]!;
    const dev = await device(p, d, password, clients);
    await dev.client.publishAsync(configTopic(d.id, 'reported'), JSON.stringify({ config: { reportingIntervalSeconds: 300 } }), { qos: 1 });
    await dev.client.publishAsync(configTopic(d.id, 'reported'), 'not json', { qos: 1 });
    await dev.client.publishAsync(configTopic(d.id, 'reported'), JSON.stringify({ config: { reportingIntervalSeconds: 1 } }), { qos: 1 });
    await eventually(() => (dev.notices.length === 2 ? true : undefined));
    expect(dev.notices.map((n) => n.code)).toEqual(['TESTBED_CONFIG_BAD_REPORT', 'TESTBED_CONFIG_BAD_REPORT']);
    expect(dev.notices[1]!.reason).toContain('reportingIntervalSeconds');
    expect((await api(p, 'GET', `/v1/devices/${d.id}/config`)).body).toMatchObject({ reported: { config: { reportingIntervalSeconds: 300 }, version: null } });
  });
});

describe('configuration across a restart', () => {
  it('keeps desired (sent again, retained) and reported documents and versions', async () => {
    const first = await startTestPipeline();
    const dataDir = first.dataDir;
    const { devices } = await provision(first, 'weather');
    const { device: d, password } = devices[0]!;
    const clients: MqttClient[] = [];
    await api(first, 'PUT', `/v1/devices/${d.id}/config/desired`, { reportingIntervalSeconds: 45 });
    const before = await device(first, d, password, clients);
    await before.client.publishAsync(configTopic(d.id, 'reported'), JSON.stringify({ version: 1, config: { reportingIntervalSeconds: 45 } }), { qos: 1 });
    await before.client.endAsync(true);
    await first.stop();

    const second = await startTestPipeline({ TESTBED_DATA_DIR: dataDir });
    try {
      const after = await device(second, d, password, clients);
      await eventually(() => (after.desired.length > 0 ? true : undefined));
      expect(after.desired).toEqual([{ version: 1, config: { reportingIntervalSeconds: 45 }, retain: true }]);
      expect((await api(second, 'GET', `/v1/devices/${d.id}/config`)).body).toMatchObject({ inSync: true, reported: { version: 1 } });
      const next = await api(second, 'PUT', `/v1/devices/${d.id}/config/desired`, { reportingIntervalSeconds: 90 });
      expect((next.body.desired as { version: number }).version).toBe(2);
      await eventually(() => (after.desired.length > 1 ? true : undefined));
      await after.client.endAsync(true);
    } finally {
      await second.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
