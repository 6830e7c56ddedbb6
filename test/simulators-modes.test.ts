import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPipeline, type RunningPipeline } from '../cli/pipeline.js';
import { loadConfig } from '../core/config.js';
import type { TestbedEvent } from '../core/events.js';
import { createLogger } from '../core/log.js';
import { bundledProfilesDir, loadProfiles } from '../device-profiles/index.js';
import { SETUP_CALLER as SETUP } from '../registry/index.js';
import { BATTERY_CYCLE, drainedLevel, isQuiet, loadScenario, runSimulation, type DeviceMode } from '../simulators/index.js';
import { ADMIN_TOKEN } from './helpers/pipeline.js';
import { tempDir } from './helpers/tmp.js';
import { eventually } from './helpers/wait.js';

/**
 * The simulators' standing faults against the real pipeline over real MQTT: a
 * profile with a 0.2 s interval, one device per mode, for a few seconds; then
 * what the gateway made of each: statuses, gaps, a low battery, connection
 * events and rejections.
 */
const FAST = {
  formatVersion: 1,
  id: 'fast-tracker',
  name: 'Fast tracker (tests)',
  reportingIntervalSeconds: 0.2,
  formats: ['json', 'binary'],
  binary: {
    header: '10',
    byteOrder: 'big',
    fields: [
      { measurement: 'temperature', at: 1, type: 'int16', scale: 0.1 },
      { measurement: 'battery_level', at: 3, type: 'uint8' },
    ],
  },
  health: { battery: { measurement: 'battery_level', lowBelow: 20 } },
  measurements: [
    { name: 'temperature', quantity: 'temperature', unit: '°C', range: { min: -50, max: 80 } },
    { name: 'battery_level', quantity: 'battery_level', unit: '%', range: { min: 0, max: 100 } },
  ],
};
const data = tempDir();
const profilesDir = tempDir();
let p: RunningPipeline;
const events: TestbedEvent[] = [];

beforeAll(async () => {
  for (const f of fs.readdirSync(bundledProfilesDir()).filter((f) => f.endsWith('.json')))
    fs.copyFileSync(path.join(bundledProfilesDir(), f), path.join(profilesDir.dir, f));
  fs.writeFileSync(path.join(profilesDir.dir, 'fast-tracker.json'), JSON.stringify(FAST));
  p = await startPipeline(
    loadConfig({
      TESTBED_DATA_DIR: data.dir,
      TESTBED_PROFILES_DIR: profilesDir.dir,
      TESTBED_MQTT_PORT: '0',
      TESTBED_HTTP_PORT: '0',
      TESTBED_ADMIN_TOKEN: ADMIN_TOKEN,
      TESTBED_FLUSH_MS: '20',
      TESTBED_HEALTH_EVALUATE_MS: '100',
    }),
    createLogger(process.env.TESTBED_TEST_LOG ?? 'silent'),
  );
  p.events.on((e) => events.push(e));
});
afterAll(async () => {
  await p?.stop();
  data.remove();
  profilesDir.remove();
});

describe('fault modes', () => {
  it('are cycles in the profile intervals', () => {
    expect(Array.from({ length: 20 }, (_, n) => isQuiet(n))).toEqual([...Array(6).fill(false), ...Array(12).fill(true), false, false]);
    expect(isQuiet(11, 2)).toBe(false);
    expect(isQuiet(12, 2)).toBe(true);
    const battery = { measurement: 'b', full: 100, empty: 0 };
    expect([0, BATTERY_CYCLE - 1, BATTERY_CYCLE].map((n) => drainedLevel(battery, n))).toEqual([100, 0, 100]);
  });

  it('the Helsinki scenario gives four devices a mode, each a device of a profile that can show it', () => {
    const scenario = loadScenario('helsinki', loadProfiles());
    const modes = scenario.pilots.flatMap((pilot) => pilot.devices.flatMap((d) => (d.mode ? [d.mode] : [])));
    expect(modes.sort()).toEqual(['battery-drain', 'flapping', 'garbage', 'silent']);
  });

  it('silent, battery-drain, flapping and garbage show in health, readings, events and rejections', async () => {
    const company = await p.registry.createCompany(SETUP.scope, 'Modes Oy');
    const pilot = await p.registry.createPilot(SETUP.scope, { companyId: company.id, testbedId: 'helsinki', name: 'Modes' });
    const modes: DeviceMode[] = ['silent', 'battery-drain', 'flapping', 'garbage'];
    const made = await Promise.all(
      modes.map(async (mode) => ({ mode, ...(await p.registry.createDevice(SETUP.scope, pilot.id, { profile: FAST.id, name: mode })) })),
    );
    await p.registry.createAlertRule(SETUP.scope, { condition: 'battery_low', holdSeconds: 0, pilotId: pilot.id, testbedId: 'helsinki' });
    const summary = await runSimulation({
      url: p.mqttUrl,
      rate: 5,
      durationMs: 5_000,
      seed: 7,
      devices: made.map((m, i) => ({
        credentials: { deviceId: m.device.id, username: m.device.username, password: m.password },
        profile: loadProfiles(profilesDir.dir).get(FAST.id)!.profile,
        format: i === 3 ? 'binary' : 'json',
        mode: m.mode,
      })),
    });
    const id = (mode: DeviceMode) => made.find((m) => m.mode === mode)!.device.id;
    const readings = async (mode: DeviceMode) =>
      (
        await p.stores.readings.queryRaw(SETUP.scope, {
          select: { kind: 'device', deviceId: id(mode) },
          from: 0,
          to: Date.now() + 1000,
          limit: 1000,
          deadline: Date.now() + 5000,
        })
      ).map((r) => r as { values: Record<string, number>; gap?: boolean });
    // The run waited for every PUBACK, so every reading is on disk; give delivery to the store a moment.
    await eventually(() => (p.ingest.stats().queue.depthBytes === 0 ? true : undefined));
    await new Promise((r) => setTimeout(r, 300));

    // silent: six readings, then quiet long enough to go late and silent, then a reading flagged gap.
    const statuses = events.filter((e) => e.type === 'device.status' && e.deviceId === id('silent')).map((e) => e.data.to);
    expect(statuses).toEqual(expect.arrayContaining(['ok', 'late', 'silent']));
    const silent = await readings('silent');
    expect(silent.length).toBeGreaterThanOrEqual(6);
    expect(silent.slice(0, 6).some((r) => r.gap)).toBe(false);
    expect(silent[6]?.gap).toBe(true);

    // battery-drain: the battery runs down below the profile's low threshold, and health says low.
    const levels = (await readings('battery-drain')).map((r) => r.values.battery_level!);
    expect(levels.slice(0, 10)).toEqual([...levels.slice(0, 10)].sort((a, b) => b - a));
    expect(Math.min(...levels)).toBeLessThan(20);
    const lowAlerts = events.filter((e) => e.type === 'alert.opened' && e.deviceId === id('battery-drain'));
    expect(lowAlerts.length).toBeGreaterThanOrEqual(1);
    expect(events.some((e) => e.type === 'alert.opened' && e.deviceId !== id('battery-drain'))).toBe(false);

    // flapping: a disconnection per reading, every reading still stored.
    const flaps = (await p.registry.listDeviceEvents(SETUP.scope, id('flapping'), { from: 0, to: Date.now() + 1000, limit: 1000 }))!;
    expect(flaps.filter((e) => e.type === 'disconnected').length).toBeGreaterThanOrEqual(10);
    expect((await readings('flapping')).length).toBeGreaterThanOrEqual(15);

    // garbage: every other message rejected, as the run expected.
    const rejected = await p.stores.rejections.queryRejections(SETUP.scope, { deviceId: id('garbage'), limit: 1000 });
    expect(rejected.length).toBeGreaterThanOrEqual(10);
    expect(rejected.every((r) => r.code === 'TESTBED_READING_BAD_BINARY')).toBe(true);
    expect(summary.expectedRejections.TESTBED_READING_BAD_BINARY).toBe(rejected.length);
  }, 30_000);
});
