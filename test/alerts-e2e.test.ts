import fs from 'node:fs';
import path from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPipeline } from '../cli/pipeline.js';
import { loadConfig } from '../core/config.js';
import { createLogger } from '../core/log.js';
import { bundledProfilesDir } from '../device-profiles/index.js';
import { SETUP_CALLER as SETUP } from '../registry/index.js';
import { startInfluxd, type Influxd } from './helpers/influxd.js';
import { ADMIN_TOKEN } from './helpers/pipeline.js';
import { tempDir } from './helpers/tmp.js';
import { eventually } from './helpers/wait.js';
import { webhookReceiver, type Received } from './helpers/webhook-receiver.js';

/*
 * Every alert condition end to end, over the real pipeline, real MQTT and a
 * real webhook receiver on 127.0.0.1 that verifies each signature: a rule is
 * made through the API, its condition is brought about for real (a device that
 * goes silent, disconnects, sends garbage or a low battery; an InfluxDB that
 * stops), the alert opens once, its signed webhook arrives, and it resolves.
 */

const FAST = {
  formatVersion: 1,
  id: 'fast-meter',
  name: 'Fast meter (tests)',
  reportingIntervalSeconds: 0.2,
  health: { battery: { measurement: 'battery_level', lowBelow: 20 } },
  measurements: [
    { name: 'temperature', quantity: 'temperature', unit: '°C', range: { min: -50, max: 80 } },
    { name: 'battery_level', quantity: 'battery_level', unit: '%', range: { min: 0, max: 100 } },
  ],
};
const log = createLogger(process.env.TESTBED_TEST_LOG ?? 'silent');
const profiles = tempDir();
let receiver: Awaited<ReturnType<typeof webhookReceiver>>;

beforeAll(async () => {
  for (const f of fs.readdirSync(bundledProfilesDir()).filter((f) => f.endsWith('.json')))
    fs.copyFileSync(path.join(bundledProfilesDir(), f), path.join(profiles.dir, f));
  fs.writeFileSync(path.join(profiles.dir, 'fast-meter.json'), JSON.stringify(FAST));
  receiver = await webhookReceiver();
});
afterAll(async () => {
  await receiver?.down();
  profiles.remove();
});

/** A pipeline on its own data folder; `restart` keeps the folder. */
async function pipelineWith(env: Record<string, string>) {
  const data = tempDir();
  const config = loadConfig({
    TESTBED_DATA_DIR: data.dir,
    TESTBED_PROFILES_DIR: profiles.dir,
    TESTBED_MQTT_PORT: '0',
    TESTBED_HTTP_PORT: '0',
    TESTBED_ADMIN_TOKEN: ADMIN_TOKEN,
    TESTBED_FLUSH_MS: '20',
    TESTBED_WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
    TESTBED_WEBHOOK_RETRY_SECONDS: Array.from({ length: 30 }, () => '0.3').join(','),
    ...env,
  });
  const rig = {
    p: await startPipeline(config, log),
    async restart() {
      await rig.p.stop();
      rig.p = await startPipeline(config, log);
    },
    async close() {
      await rig.p.stop();
      data.remove();
    },
    async api(method: string, url: string, key: string, body?: unknown) {
      const res = await fetch(`${rig.p.apiUrl}${url}`, {
        method,
        headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as Record<string, any> };
    },
    /** A company's pilot with one fast-meter device, its key and a webhook for its alerts. */
    async pilot() {
      const company = await rig.p.registry.createCompany(SETUP.scope, `Alerts ${Math.random()}`);
      const pilot = await rig.p.registry.createPilot(SETUP.scope, { companyId: company.id, testbedId: 'helsinki', name: 'Alerts' });
      const { device, password } = await rig.p.registry.createDevice(SETUP.scope, pilot.id, { profile: FAST.id, name: 'meter' });
      const key = (await rig.p.registry.createCompanyKey(SETUP, company.id)).key;
      const hook = await rig.api('POST', '/v1/webhooks', key, { url: receiver.url, events: ['alert.opened', 'alert.resolved'], pilotId: pilot.id });
      expect(hook.status).toBe(201);
      receiver.useSecret(hook.body.secret as string);
      const connect = () => mqtt.connectAsync(rig.p.mqttUrl, { username: device.username, password, reconnectPeriod: 0 });
      return { pilot, device, key, connect, topic: `devices/${device.id}/readings` };
    },
    async rule(key: string, rule: Record<string, unknown>) {
      const made = await rig.api('POST', '/v1/alert-rules', key, { holdSeconds: 0, ...rule });
      expect(made.status, JSON.stringify(made.body)).toBe(201);
      return made.body.id as string;
    },
  };
  return rig;
}

type AlertBody = { id: string; ruleId: string; condition: string; deviceId?: string; state: string };
const alertOf = (r: Received) => r.body.data.alert as AlertBody;
/** The verified webhook deliveries of a rule's alerts of one type. */
const deliveredFor = (ruleId: string, type: 'alert.opened' | 'alert.resolved') =>
  receiver.received.filter((r) => r.body.type === type && alertOf(r).ruleId === ruleId);
const arrives = (ruleId: string, type: 'alert.opened' | 'alert.resolved', ms = 8000) =>
  eventually(() => deliveredFor(ruleId, type)[0], ms, `${type} of ${ruleId}`);

describe('alerts evaluated on events, not only on the timer', () => {
  let rig: Awaited<ReturnType<typeof pipelineWith>>;
  // The timer would evaluate once in ten minutes: every alert here opens because something happened.
  beforeAll(async () => void (rig = await pipelineWith({ TESTBED_HEALTH_EVALUATE_MS: '600000' })));
  afterAll(async () => rig?.close());

  it('offline: opens when the device disconnects, resolves when it is back, each a signed webhook', async () => {
    const { key, pilot, connect } = await rig.pilot();
    const ruleId = await rig.rule(key, { condition: 'offline', threshold: 0, pilotId: pilot.id });
    const client = await connect();
    await client.endAsync();
    const opened = await arrives(ruleId, 'alert.opened');
    expect(opened.verified).toBe(true);
    expect(alertOf(opened)).toMatchObject({ condition: 'offline', state: 'open' });
    const again = await connect();
    const resolved = await arrives(ruleId, 'alert.resolved');
    expect(resolved.verified).toBe(true);
    expect(alertOf(resolved)).toMatchObject({ id: alertOf(opened).id, state: 'resolved' });
    expect(deliveredFor(ruleId, 'alert.opened')).toHaveLength(1);
    await again.endAsync();
  });

  it('rejections: opens once past the threshold of rejected messages in the hour; resolves when its rule is deleted', async () => {
    const { key, pilot, connect, topic } = await rig.pilot();
    const ruleId = await rig.rule(key, { condition: 'rejections', threshold: 2, pilotId: pilot.id });
    const client = await connect();
    for (const garbage of ['not json', '{"temperature": "warm"}', '{"temperature": 999}']) await client.publishAsync(topic, garbage, { qos: 1 });
    const opened = await arrives(ruleId, 'alert.opened');
    expect(opened.verified).toBe(true);
    expect(alertOf(opened).condition).toBe('rejections');
    await client.publishAsync(topic, 'more garbage', { qos: 1 });
    await new Promise((r) => setTimeout(r, 500));
    expect(deliveredFor(ruleId, 'alert.opened')).toHaveLength(1);
    expect((await rig.api('DELETE', `/v1/alert-rules/${ruleId}`, key)).status).toBe(200);
    await client.publishAsync(topic, JSON.stringify({ temperature: 20 }), { qos: 1 }); // an event to evaluate on
    expect((await arrives(ruleId, 'alert.resolved')).verified).toBe(true);
    await client.endAsync();
  });

  it('battery_low: opens on the reading that reports it, resolves on one above the threshold', async () => {
    const { key, pilot, connect, topic } = await rig.pilot();
    const ruleId = await rig.rule(key, { condition: 'battery_low', pilotId: pilot.id });
    const client = await connect();
    await client.publishAsync(topic, JSON.stringify({ temperature: 20, battery_level: 12 }), { qos: 1 });
    expect((await arrives(ruleId, 'alert.opened')).verified).toBe(true);
    await client.publishAsync(topic, JSON.stringify({ temperature: 20, battery_level: 80 }), { qos: 1 });
    expect((await arrives(ruleId, 'alert.resolved')).verified).toBe(true);
    await client.endAsync();
  });
});

describe('a device that goes silent, with the receiver down across a restart', () => {
  let rig: Awaited<ReturnType<typeof pipelineWith>>;
  beforeAll(async () => void (rig = await pipelineWith({ TESTBED_HEALTH_EVALUATE_MS: '100' })));
  afterAll(async () => rig?.close());

  it('opens once, is delivered after the receiver and the gateway are back, and resolves when the device reports again', async () => {
    const { key, pilot, connect, topic, device } = await rig.pilot();
    const ruleId = await rig.rule(key, { condition: 'silent', pilotId: pilot.id });
    await receiver.down();
    let client = await connect();
    await client.publishAsync(topic, JSON.stringify({ temperature: 20 }), { qos: 1 });
    // Silent after 6 × 0.2 s; the delivery fails while the receiver is down.
    const owed = await eventually(
      async () => {
        const hooks = (await rig.api('GET', '/v1/webhooks', key)).body.webhooks as { id: string }[];
        const list = (await rig.api('GET', `/v1/webhooks/${hooks[0]!.id}/deliveries`, key)).body.deliveries as { id: string; attempts: unknown[] }[];
        return list.find((d) => d.attempts.length >= 1);
      },
      8000,
      'a failed delivery',
    );
    await client.endAsync();
    await rig.restart();
    await receiver.up();
    const opened = await eventually(() => receiver.received.find((r) => r.id === owed.id), 8000, 'the owed delivery');
    expect(opened.verified).toBe(true);
    expect(alertOf(opened)).toMatchObject({ ruleId, condition: 'silent', deviceId: device.id });
    client = await connect(); // to the restarted gateway
    await client.publishAsync(topic, JSON.stringify({ temperature: 21 }), { qos: 1 });
    expect((await arrives(ruleId, 'alert.resolved')).verified).toBe(true);
    expect(deliveredFor(ruleId, 'alert.opened')).toHaveLength(1);
    await client.endAsync();
  }, 30_000);
});

describe('gateway alerts: an InfluxDB that stops', () => {
  let influxd: Influxd;
  let rig: Awaited<ReturnType<typeof pipelineWith>>;
  beforeAll(async () => {
    influxd = await startInfluxd();
    rig = await pipelineWith({
      TESTBED_HEALTH_EVALUATE_MS: '100',
      TESTBED_INFLUX_URL: influxd.url,
      TESTBED_INFLUX_BUCKET: 'alerts',
      TESTBED_RETRY_MAX_SECONDS: '1',
    });
  }, 60_000);
  afterAll(async () => {
    await rig?.close();
    await influxd?.stop();
  });

  it('queue_age and store_unreachable open for the operator while the store is down and resolve once it is back', async () => {
    const operator = (
      await rig.p.registry.createKey(SETUP, { role: 'operator', companyId: null, testbedIds: ['helsinki'], readOnly: false, expiresAt: null }, null)
    ).key;
    const hook = await rig.api('POST', '/v1/webhooks', operator, { url: receiver.url, events: ['alert.opened', 'alert.resolved'], testbedId: 'helsinki' });
    expect(hook.status).toBe(201);
    const queueRule = await rig.rule(operator, { condition: 'queue_age', threshold: 1, testbedId: 'helsinki' });
    const storeRule = await rig.rule(operator, { condition: 'store_unreachable', threshold: 1, testbedId: 'helsinki' });
    const { connect, topic } = await rig.pilot();
    receiver.useSecret(hook.body.secret as string);
    const client = await connect();
    await client.publishAsync(topic, JSON.stringify({ temperature: 1 }), { qos: 1 });
    await influxd.kill('SIGKILL');
    await client.publishAsync(topic, JSON.stringify({ temperature: 2 }), { qos: 1 }); // acknowledged from the queue on disk
    const [queued, unreachable] = [await arrives(queueRule, 'alert.opened', 15_000), await arrives(storeRule, 'alert.opened', 15_000)];
    expect(queued.verified && unreachable.verified).toBe(true);
    expect(alertOf(queued)).toMatchObject({ condition: 'queue_age', state: 'open' });
    expect(alertOf(queued).deviceId).toBeUndefined();
    expect(alertOf(unreachable).condition).toBe('store_unreachable');
    await influxd.restart();
    expect((await arrives(queueRule, 'alert.resolved', 15_000)).verified).toBe(true);
    expect((await arrives(storeRule, 'alert.resolved', 15_000)).verified).toBe(true);
    expect(deliveredFor(queueRule, 'alert.opened')).toHaveLength(1);
    expect(deliveredFor(storeRule, 'alert.opened')).toHaveLength(1);
    await client.endAsync();
  }, 60_000);
});
