import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simulateCommand } from '../cli/simulate.js';
import type { PayloadFormat } from '../device-profiles/format.js';
import { faultsSchema, type Faults } from '../simulators/faults.js';
import { runSimulation, type SimulatedDevice } from '../simulators/run.js';
import { ADMIN_TOKEN, startTestPipeline, type TestPipeline } from './helpers/pipeline.js';
import { tempDir } from './helpers/tmp.js';
import { eventually } from './helpers/wait.js';
import { readDevice } from './helpers/readings.js';
import { SETUP_CALLER as SETUP } from '../registry/index.js';

/**
 * The simulators against the whole pipeline in this process, over real MQTT:
 * a device of every profile in every format it takes. Without faults nothing
 * may be rejected; with faults, the rejection log must hold exactly the codes
 * the injected faults should get.
 */
let p: TestPipeline;
const ALL = { kind: 'all' } as const;
const tmp = tempDir();

beforeAll(async () => {
  p = await startTestPipeline();
});
afterAll(async () => {
  await p?.close();
  tmp.remove();
});

/** A pilot with one device per profile and format, registered through the registry. */
async function devicesOfEveryProfile(label: string): Promise<SimulatedDevice[]> {
  const company = await p.registry.createCompany(SETUP.scope, `Simulated ${label}`);
  const pilot = await p.registry.createPilot(SETUP.scope, { companyId: company.id, testbedId: 'tampere', name: label });
  const devices: SimulatedDevice[] = [];
  for (const [id, { profile }] of p.profiles) {
    for (const format of profile.formats as PayloadFormat[]) {
      const { device, password } = await p.registry.createDevice(ALL, pilot.id, { profile: id, name: `${id} ${format}` });
      devices.push({
        credentials: { deviceId: device.id, username: device.username, password, profile: id },
        profile,
        format,
        city: 'tampere',
        units: devices.length % 2 ? 'alternative' : 'canonical',
      });
    }
  }
  return devices;
}

async function rejectionsOf(devices: readonly SimulatedDevice[]): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const d of devices) {
    for (const r of await p.stores.rejections.queryRejections(ALL, { deviceId: d.credentials.deviceId, limit: 10_000 }))
      counts[r.code] = (counts[r.code] ?? 0) + 1;
  }
  return counts;
}

async function storedReadings(devices: readonly SimulatedDevice[]): Promise<number> {
  let n = 0;
  for (const d of devices) n += (await readDevice(p.stores.readings, d.credentials.deviceId, { limit: 10_000 }, ALL)).length;
  return n;
}

describe('simulated devices against the real pipeline', () => {
  it('of every profile, in every format, without faults: all stored, nothing rejected', async () => {
    const devices = await devicesOfEveryProfile('clean');
    const summary = await runSimulation({ url: p.mqttUrl, devices, rate: 10, count: 4, qos: 1, seed: 1 });
    expect(summary).toMatchObject({ sent: devices.length * 4, acknowledged: devices.length * 4, rejected: {}, errors: 0, missed: 0, faults: {} });
    await eventually(async () => ((await storedReadings(devices)) === devices.length * 4 ? true : undefined), 10_000, 'every reading stored');
    expect(await rejectionsOf(devices)).toEqual({});
  });

  it('with faults injected: the rejections match the faults by code', async () => {
    const devices = await devicesOfEveryProfile('faulty');
    const faults: Faults = faultsSchema.parse({
      malformed: 0.08,
      outOfRange: 0.08,
      clockSkew: 0.06,
      duplicate: 0.05,
      stuck: 0.05,
      gap: 0.04,
      disconnect: 0.03,
      backlog: 0.04,
      gapReadings: 2,
      offlineReadings: 2,
      backlogReadings: 3,
    });
    const summary = await runSimulation({ url: p.mqttUrl, devices, rate: 20, count: 25, qos: 1, seed: 7, faults, settleMs: 500 });
    const expected = summary.expectedRejections;
    const total = Object.values(expected).reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(20);
    expect(Object.keys(expected).sort()).toEqual([
      'TESTBED_READING_BAD_BINARY',
      'TESTBED_READING_NOT_JSON',
      'TESTBED_READING_OUT_OF_RANGE',
      'TESTBED_READING_TIME_IN_FUTURE',
    ]);
    for (const kind of ['malformed', 'outOfRange', 'clockSkew', 'duplicate', 'stuck', 'gap', 'disconnect', 'backlog'] as const)
      expect(summary.faults[kind], kind).toBeGreaterThan(0);
    // The rejection log is the record: exactly the expected codes, no more, no fewer.
    const logged = await eventually(
      async () => {
        const counts = await rejectionsOf(devices);
        return Object.values(counts).reduce((a, b) => a + b, 0) >= total ? counts : undefined;
      },
      10_000,
      'the rejections of the faults',
    );
    expect(logged).toEqual(expected);
    // Notices on the errors topic: one per rejection, but one sent just before a device drops its connection may be lost.
    const lossy = (summary.faults.disconnect ?? 0) + (summary.faults.backlog ?? 0);
    for (const [code, n] of Object.entries(expected)) {
      expect(summary.rejected[code] ?? 0, code).toBeLessThanOrEqual(n);
      expect(summary.rejected[code] ?? 0, code).toBeGreaterThanOrEqual(n - lossy);
    }
    expect(summary.errors).toBe(0);
  });

  it("testbed simulate --scenario registers a city's testbed through the API with the admin key and runs it", async () => {
    let out = '';
    let err = '';
    const sink = (write: (s: string) => void) => new Writable({ write: (chunk, _e, done) => (write(String(chunk)), done()) });
    const saved = path.join(tmp.dir, 'tampere-devices.json');
    const code = await simulateCommand(
      [
        '--scenario',
        'tampere',
        '--key',
        ADMIN_TOKEN,
        '--api-url',
        p.apiUrl,
        '--mqtt-url',
        p.mqttUrl,
        '--speed',
        '3600',
        '--count',
        '1',
        '--faults',
        '',
        '--save-credentials',
        saved,
      ],
      { stdout: sink((s) => (out += s)), stderr: sink((s) => (err += s)), env: {} },
    );
    expect(err).toMatch(/Registered the Tampere living lab scenario: 3 pilots, 12 devices/);
    expect(err).toMatch(/company Turvareitti Oy \(co_[^)]+\): key /);
    expect(out).toMatch(/sent {10}12 /);
    expect(code).toBe(0);
    const companies = (await p.registry.listCompanies(ALL)).map((c) => c.name);
    expect(companies).toEqual(expect.arrayContaining(['Liikennevirta Oy', 'Turvareitti Oy', 'Vesitieto Oy']));
    const made = JSON.parse(fs.readFileSync(saved, 'utf8')) as { deviceId: string; profile: string }[];
    expect(made.map((d) => d.profile)).toContain('safety-beacon');
    await eventually(
      async () => ((await storedReadings(made.map((d) => ({ credentials: d }) as unknown as SimulatedDevice))) === 12 ? true : undefined),
      10_000,
      "the scenario's readings",
    );
  });
  it('testbed simulate --pilot registers devices through the API with a company key, saves their credentials and runs them', async () => {
    const company = await p.registry.createCompany(SETUP.scope, 'Provisioned Oy');
    const pilot = await p.registry.createPilot(SETUP.scope, { companyId: company.id, testbedId: 'turku', name: 'Provisioned' });
    const { key } = await p.registry.createCompanyKey(SETUP, company.id);
    let err = '';
    const sink = (write: (s: string) => void) => new Writable({ write: (chunk, _e, done) => (write(String(chunk)), done()) });
    const saved = path.join(tmp.dir, 'provisioned.json');
    const args = [
      '--pilot',
      pilot.id,
      '--profile',
      'noise',
      '--devices',
      '2',
      '--count',
      '2',
      '--rate',
      '20',
      '--api-url',
      p.apiUrl,
      '--mqtt-url',
      p.mqttUrl,
      '--key',
      key,
      '--save-credentials',
      saved,
      '--faults',
      '',
    ];
    const code = await simulateCommand(args, { stdout: sink(() => {}), stderr: sink((s) => (err += s)), env: {} });
    expect(err).toMatch(new RegExp(`Registered 2 devices in pilot ${pilot.id}`));
    expect(code).toBe(0);
    const made = JSON.parse(fs.readFileSync(saved, 'utf8')) as { deviceId: string; username: string; password: string; profile: string }[];
    expect(made).toHaveLength(2);
    const registered = await p.registry.listDevices(ALL, pilot.id);
    expect(registered.map((d) => d.id).sort()).toEqual(made.map((d) => d.deviceId).sort());
    expect(registered.map((d) => d.name).sort()).toEqual(['sim-1', 'sim-2']);
    await eventually(
      async () => ((await storedReadings(made.map((d) => ({ credentials: d }) as unknown as SimulatedDevice))) === 4 ? true : undefined),
      10_000,
      'the readings of the registered devices',
    );
  });
});
