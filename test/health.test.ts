import fs from 'node:fs';
import path from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPipeline, type RunningPipeline } from '../cli/pipeline.js';
import { loadConfig } from '../core/config.js';
import type { TestbedEvent } from '../core/events.js';
import { createLogger } from '../core/log.js';
import { bundledProfilesDir } from '../device-profiles/index.js';
import { SETUP_CALLER as SETUP } from '../registry/index.js';
import { ADMIN_TOKEN } from './helpers/pipeline.js';
import { tempDir } from './helpers/tmp.js';
import { eventually } from './helpers/wait.js';

/**
 * Device health over the real pipeline and real MQTT: a profile with a half-second
 * reporting interval, so late comes after 1 s and silent after 3 s.
 */
const FAST = {
  formatVersion: 1,
  id: 'fast-meter',
  name: 'Fast meter (tests)',
  reportingIntervalSeconds: 0.5,
  health: { battery: { measurement: 'battery_level', lowBelow: 20 }, signal: { measurement: 'rssi' }, stuckAfter: 3 },
  measurements: [
    { name: 'temperature', quantity: 'temperature', unit: '°C', range: { min: -50, max: 80 } },
    { name: 'battery_level', quantity: 'battery_level', unit: '%', range: { min: 0, max: 100 } },
    { name: 'rssi', quantity: 'signal_strength', unit: 'dBm', range: { min: -150, max: 0 } },
  ],
};

const data = tempDir();
const profiles = tempDir();
let p: RunningPipeline;
const events: TestbedEvent[] = [];

async function start() {
  const config = loadConfig({
    TESTBED_DATA_DIR: data.dir,
    TESTBED_PROFILES_DIR: profiles.dir,
    TESTBED_MQTT_PORT: '0',
    TESTBED_HTTP_PORT: '0',
    TESTBED_ADMIN_TOKEN: ADMIN_TOKEN,
    TESTBED_FLUSH_MS: '20',
    TESTBED_HEALTH_EVALUATE_MS: '100',
  });
  p = await startPipeline(config, createLogger(process.env.TESTBED_TEST_LOG ?? 'silent'));
  p.events.on((e) => events.push(e));
}

async function api(method: string, url: string, key = ADMIN_TOKEN, body?: unknown) {
  const res = await fetch(`${p.apiUrl}${url}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

beforeAll(async () => {
  for (const f of fs.readdirSync(bundledProfilesDir()).filter((f) => f.endsWith('.json')))
    fs.copyFileSync(path.join(bundledProfilesDir(), f), path.join(profiles.dir, f));
  fs.writeFileSync(path.join(profiles.dir, 'fast-meter.json'), JSON.stringify(FAST));
  await start();
});
afterAll(async () => {
  await p?.stop();
  data.remove();
  profiles.remove();
});

async function setup(testbedId = 'helsinki') {
  const company = await p.registry.createCompany(SETUP.scope, `Co ${Math.random()}`);
  const pilot = await p.registry.createPilot(SETUP.scope, { companyId: company.id, testbedId, name: 'Health pilot' });
  const created = await p.registry.createDevice(SETUP.scope, pilot.id, { profile: 'fast-meter', name: 'meter 1' });
  const key = (await p.registry.createCompanyKey(SETUP, company.id)).key;
  return { company, pilot, device: created.device, password: created.password, key };
}

async function connect(username: string, password: string, options: mqtt.IClientOptions = {}) {
  const client = await mqtt.connectAsync(p.mqttUrl, { username, password, reconnectPeriod: 0, ...options });
  return client;
}

const health = async (deviceId: string) => (await api('GET', `/v1/devices/${deviceId}`)).body.health as Record<string, any>;

describe('device health', () => {
  it('goes late then silent on time, its alert opens once and resolves once, and battery low opens its own', async () => {
    const { device, password, key, pilot } = await setup();
    const silentRule = await api('POST', '/v1/alert-rules', key, { condition: 'silent', pilotId: pilot.id, holdSeconds: 0 });
    expect(silentRule.status, JSON.stringify(silentRule.body)).toBe(201);
    const batteryRule = await api('POST', '/v1/alert-rules', key, { condition: 'battery_low', pilotId: pilot.id, holdSeconds: 0 });
    expect(batteryRule.status).toBe(201);
    expect((await health(device.id)).status).toBe('never');

    const client = await connect(device.username, password);
    const topic = `devices/${device.id}/readings`;
    for (let i = 0; i < 3; i++) {
      await client.publishAsync(topic, JSON.stringify({ temperature: 20 + i, battery_level: 90, rssi: -70 }), { qos: 1 });
      await new Promise((r) => setTimeout(r, 100));
    }
    const ok = await eventually(async () => {
      const h = await health(device.id);
      return h.status === 'ok' ? h : undefined;
    });
    const lastAt = Date.parse(ok.lastReadingAt);
    expect(ok).toMatchObject({ online: true, expectedIntervalSeconds: 0.5, battery: { value: 90, low: false }, signal: { rssi: -70 } });

    await eventually(async () => ((await health(device.id)).status === 'late' ? true : undefined), 4000, 'late');
    const lateAt = Date.now();
    expect(lateAt - lastAt).toBeGreaterThanOrEqual(1000);
    expect(lateAt - lastAt).toBeLessThan(2500);
    await eventually(async () => ((await health(device.id)).status === 'silent' ? true : undefined), 6000, 'silent');
    expect(Date.now() - lastAt).toBeGreaterThanOrEqual(3000);

    const open = await eventually(async () => {
      const alerts = (await api('GET', '/v1/alerts?state=open', key)).body.alerts as any[];
      return alerts.length > 0 ? alerts : undefined;
    });
    expect(open).toHaveLength(1);
    expect(open[0]).toMatchObject({ ruleId: silentRule.body.id, condition: 'silent', deviceId: device.id, state: 'open' });
    await new Promise((r) => setTimeout(r, 400)); // several evaluations while it holds: still one alert
    expect(events.filter((e) => e.type === 'alert.opened' && e.deviceId === device.id)).toHaveLength(1);

    await client.publishAsync(topic, JSON.stringify({ temperature: 21, battery_level: 10, rssi: -71 }), { qos: 1 });
    await eventually(async () => ((await api('GET', '/v1/alerts?state=resolved', key)).body.alerts.length === 1 ? true : undefined), 3000, 'resolved');
    const resolved = events.filter((e) => e.type === 'alert.resolved' && e.deviceId === device.id);
    expect(resolved).toHaveLength(1);
    expect((resolved[0]!.data.alert as { state: string }).state).toBe('resolved');

    const low = await eventually(async () => {
      const h = await health(device.id);
      return h.battery?.low ? h : undefined;
    });
    expect(low.battery).toEqual({ value: 10, low: true });
    const batteryAlert = await eventually(async () =>
      ((await api('GET', '/v1/alerts?state=open', key)).body.alerts as any[]).find((a) => a.ruleId === batteryRule.body.id),
    );
    expect(batteryAlert.condition).toBe('battery_low');

    const statusEvents = ((await api('GET', `/v1/devices/${device.id}/events`, key)).body.events as any[]).filter((e) => e.type === 'status');
    expect(statusEvents.map((e) => e.to)).toEqual(['ok', 'late', 'silent', 'ok']);
    await client.endAsync();
    const reasons = await eventually(async () => {
      const list = ((await api('GET', `/v1/devices/${device.id}/events`, key)).body.events as any[]).filter((e) => e.type === 'disconnected');
      return list.length > 0 ? list : undefined;
    });
    expect(reasons[0].reason).toBe('client closed');
  }, 20_000);

  it('records a will on the status topic as an event, never as a reading', async () => {
    const { device, password, key, pilot } = await setup();
    const client = await connect(device.username, password, {
      will: { topic: `devices/${device.id}/status`, payload: Buffer.from('{"temperature": 99}'), qos: 1, retain: false },
    });
    (client as unknown as { stream: { destroy(): void } }).stream.destroy();
    const will = await eventually(async () => ((await api('GET', `/v1/devices/${device.id}/events`, key)).body.events as any[]).find((e) => e.type === 'will'));
    expect(will.payload).toContain('99');
    // Connections are written in batches gathered for a moment: the disconnection may come after the will.
    const disconnected = await eventually(async () =>
      ((await api('GET', `/v1/devices/${device.id}/events`, key)).body.events as any[]).find((e) => e.type === 'disconnected'),
    );
    expect(disconnected.reason).toBe('connection lost');
    const readings = await api('GET', `/v1/pilots/${pilot.id}/readings`, key);
    expect(readings.body.readings).toEqual([]);
    expect((await health(device.id)).status).toBe('never');
    client.end(true);
  });

  it('lists the fleet of an operator key: only its testbeds, filtered, paged', async () => {
    const hel = await setup('helsinki');
    const tam = await setup('tampere');
    const op = (await p.registry.createKey(SETUP, { role: 'operator', companyId: null, testbedIds: ['tampere'], readOnly: false, expiresAt: null }, null)).key;
    const listed = (await api('GET', '/v1/devices?limit=10000', op)).body.devices as any[];
    expect(listed.some((d) => d.id === tam.device.id)).toBe(true);
    expect(listed.some((d) => d.id === hel.device.id)).toBe(false);
    expect(listed.every((d) => d.testbedId === 'tampere')).toBe(true);
    const never = (await api('GET', '/v1/devices?status=never,late&limit=10000', op)).body.devices as any[];
    expect(never.map((d) => d.id)).toContain(tam.device.id);
    expect((await api('GET', '/v1/devices?status=ok', op)).body.devices.map((d: any) => d.id)).not.toContain(tam.device.id);
    // Paging: one device a page, every device once.
    await setup('tampere');
    const seen: string[] = [];
    let next: string | undefined;
    do {
      const page = await api('GET', `/v1/devices?limit=1${next ? `&cursor=${next}` : ''}`, op);
      expect(page.status).toBe(200);
      seen.push(...page.body.devices.map((d: any) => d.id));
      next = page.body.next;
    } while (next);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.length).toBe(listed.length + 1);
    const th = await api('GET', '/v1/testbeds/tampere/health', op);
    expect(th.status).toBe(200);
    expect(th.body.devices.total).toBe(seen.length);
    expect(th.body.gateway.store.reachable).toBe(true);
    expect((await api('GET', '/v1/testbeds/helsinki/health', op)).status).toBe(404);
    expect((await api('GET', '/v1/testbeds/tampere/health', tam.key)).status).toBe(403);
  });

  it('keeps lastSeen and lastReadingAt across a restart on the same data folder', async () => {
    const { device, password } = await setup();
    const client = await connect(device.username, password);
    await client.publishAsync(`devices/${device.id}/readings`, JSON.stringify({ temperature: 5 }), { qos: 1 });
    const before = await eventually(async () => {
      const h = await health(device.id);
      return h.lastReadingAt ? h : undefined;
    });
    await client.endAsync();
    await p.stop();
    await start();
    const after = await health(device.id);
    expect(after.lastReadingAt).toBe(before.lastReadingAt);
    expect(after.lastSeen).not.toBeNull();
    expect(Date.parse(after.lastSeen)).toBeGreaterThanOrEqual(Date.parse(before.lastSeen));
    expect(after.online).toBe(false);
    expect(after.disconnectReason).toBe('client closed');
  });
});
