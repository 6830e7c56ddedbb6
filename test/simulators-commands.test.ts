import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSimulation } from '../simulators/run.js';
import { ADMIN_TOKEN, eventually, provision, startTestPipeline, type TestPipeline } from './helpers/pipeline.js';
import { readDevice } from './helpers/readings.js';

/** A simulated device obeys commands sent through the API, over the real pipeline. */
describe('simulated devices obey commands', () => {
  let p: TestPipeline;
  beforeAll(async () => {
    p = await startTestPipeline();
  });
  afterAll(async () => p?.close());

  it('set_interval changes the spacing of its readings, and the command shows as succeeded', async () => {
    const { devices } = await provision(p, 'weather');
    const { device, password } = devices[0]!;
    const profile = p.profiles.get('weather')!.profile;
    const run = runSimulation({
      url: p.mqttUrl,
      devices: [{ credentials: { deviceId: device.id, username: device.username, password, profile: 'weather' }, profile, format: 'json' }],
      rate: 5, // every 200 ms, until told otherwise
      durationMs: 7_000,
    });
    const ALL = { kind: 'all' } as const;
    await eventually(async () => ((await readDevice(p.stores.readings, device.id, { limit: 100 }, ALL)).length >= 4 ? true : undefined));
    const res = await fetch(`${p.apiUrl}/v1/devices/${device.id}/commands`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'set_interval', params: { seconds: 5 } }),
    });
    const { id } = (await res.json()) as { id: string };
    await eventually(async () => ((await p.registry.getCommand(ALL, device.id, id))?.status === 'succeeded' ? true : undefined));
    expect((await p.registry.getCommand(ALL, device.id, id))?.result).toEqual({ intervalSeconds: 5 });
    const summary = await run;
    expect(summary.errors).toBe(0);

    const times = (await readDevice(p.stores.readings, device.id, { limit: 1000 }, ALL)).map((r) => r.time).sort((a, b) => a - b);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    expect(gaps.slice(0, 3)).toEqual([200, 200, 200]);
    expect(gaps.at(-1)).toBe(5_000);
    expect(gaps.filter((g) => g > 200)).toEqual([5_000]);
  }, 20_000);

  it('applies its desired configuration (reportingIntervalSeconds) and reports it, so the API shows it in sync', async () => {
    const { devices } = await provision(p, 'safety-beacon');
    const { device, password } = devices[0]!;
    const profile = p.profiles.get('safety-beacon')!.profile;
    const run = runSimulation({
      url: p.mqttUrl,
      devices: [{ credentials: { deviceId: device.id, username: device.username, password, profile: 'safety-beacon' }, profile, format: 'json' }],
      rate: 5,
      durationMs: 7_000,
    });
    const ALL = { kind: 'all' } as const;
    await eventually(async () => ((await readDevice(p.stores.readings, device.id, { limit: 100 }, ALL)).length >= 4 ? true : undefined));
    const res = await fetch(`${p.apiUrl}/v1/devices/${device.id}/config/desired`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ reportingIntervalSeconds: 5, ledEnabled: false }),
    });
    expect(res.status).toBe(200);
    await eventually(async () => ((await p.registry.getDeviceConfig(ALL, device.id))?.inSync ? true : undefined));
    expect((await p.registry.getDeviceConfig(ALL, device.id))?.reported).toMatchObject({
      version: 1,
      config: { reportingIntervalSeconds: 5, ledEnabled: false },
    });
    const summary = await run;
    expect(summary.errors).toBe(0);

    const times = (await readDevice(p.stores.readings, device.id, { limit: 1000 }, ALL)).map((r) => r.time).sort((a, b) => a - b);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    expect(gaps.slice(0, 3)).toEqual([200, 200, 200]);
    expect(gaps.filter((g) => g > 200)).toEqual([5_000]);
  }, 20_000);
});
