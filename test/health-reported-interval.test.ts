import fs from 'node:fs';
import path from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPipeline, type RunningPipeline } from '../cli/pipeline.js';
import { loadConfig } from '../core/config.js';
import { createLogger } from '../core/log.js';
import { configTopic, deviceTopic } from '../core/topics.js';
import { bundledProfilesDir } from '../device-profiles/index.js';
import { SETUP_CALLER as SETUP } from '../registry/index.js';
import { ADMIN_TOKEN } from './helpers/pipeline.js';
import { tempDir } from './helpers/tmp.js';
import { eventually } from './helpers/wait.js';

/**
 * The reporting interval a device reports in its configuration replaces its
 * profile's in its health: a profile that expects a reading every ten minutes,
 * and a device that says it reports every 0.3 s, so it is late after 0.6 s.
 */
const SLOW = {
  formatVersion: 1,
  id: 'slow-meter',
  name: 'Slow meter (tests)',
  reportingIntervalSeconds: 600,
  measurements: [{ name: 'temperature', quantity: 'temperature', unit: '°C', range: { min: -50, max: 80 } }],
  configuration: [{ name: 'reportingIntervalSeconds', type: 'number', quantity: 'duration', unit: 's', range: { min: 0.1, max: 86400 } }],
};

const data = tempDir();
const profiles = tempDir();
let p: RunningPipeline;

beforeAll(async () => {
  for (const f of fs.readdirSync(bundledProfilesDir()).filter((f) => f.endsWith('.json')))
    fs.copyFileSync(path.join(bundledProfilesDir(), f), path.join(profiles.dir, f));
  fs.writeFileSync(path.join(profiles.dir, 'slow-meter.json'), JSON.stringify(SLOW));
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
});
afterAll(async () => {
  await p?.stop();
  data.remove();
  profiles.remove();
});

describe('health follows the reported interval', () => {
  it('judges a device late by the interval it reports, and by its profile again when it reports the long one', async () => {
    const company = await p.registry.createCompany(SETUP.scope, `Co ${Math.random()}`);
    const pilot = await p.registry.createPilot(SETUP.scope, { companyId: company.id, testbedId: 'helsinki', name: 'Interval pilot' });
    const meters = await Promise.all([0, 1].map(async () => await p.registry.createDevice(SETUP.scope, pilot.id, { profile: 'slow-meter' })));
    const status = async (id: string) => (await p.registry.getDeviceHealth({ kind: 'all' }, id))?.status;
    const clients = await Promise.all(
      meters.map((m) => mqtt.connectAsync(p.mqttUrl, { username: m.device.username, password: m.password, protocolVersion: 4, reconnectPeriod: 0 })),
    );
    try {
      for (const [i, m] of meters.entries()) await clients[i]!.publishAsync(deviceTopic(m.device.id, 'readings'), '{"temperature": 20}', { qos: 1 });
      await eventually(async () => ((await Promise.all(meters.map((m) => status(m.device.id)))).every((s) => s === 'ok') ? true : undefined));

      const [fast, steady] = meters as [(typeof meters)[0], (typeof meters)[0]];
      const report = (seconds: number) =>
        clients[0]!.publishAsync(configTopic(fast.device.id, 'reported'), JSON.stringify({ config: { reportingIntervalSeconds: seconds } }), { qos: 1 });
      await report(0.3);
      await eventually(async () => ((await status(fast.device.id)) === 'late' ? true : undefined), 5000, 'late by the reported interval');
      expect(await status(steady.device.id)).toBe('ok');
      const expected = async (id: string) => {
        const res = await fetch(`${p.apiUrl}/v1/devices/${id}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
        return ((await res.json()) as { health: { expectedIntervalSeconds: number } }).health.expectedIntervalSeconds;
      };
      expect([await expected(fast.device.id), await expected(steady.device.id)]).toEqual([0.3, 600]);

      await report(600);
      await eventually(async () => ((await status(fast.device.id)) === 'ok' ? true : undefined), 5000, 'ok by the long interval');
    } finally {
      await Promise.all(clients.map((c) => c.endAsync(true)));
    }
  });
});
