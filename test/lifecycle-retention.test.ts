import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../core/log.js';
import { SETUP_CALLER as SETUP } from '../registry/index.js';
import { InfluxStore } from '../store/influx/store.js';
import type { Reading, ReadingStore } from '../store/index.js';
import { ADMIN, bearer, openTestApi } from './helpers/api.js';
import { startInfluxd, type Influxd } from './helpers/influxd.js';

const DAY = 86_400_000;
const NOW = Date.parse('2026-11-30T12:00:00Z');
const log = createLogger(process.env.TESTBED_TEST_LOG ?? 'silent');

let influxd: Influxd;
beforeAll(async () => {
  influxd = await startInfluxd();
}, 30_000);
afterAll(async () => influxd?.stop());

/** Readings around a cutoff: a millisecond before, at, and after it, and far on either side. */
const around = (cutoff: number) => [cutoff - 5 * DAY, cutoff - 1, cutoff, cutoff + 1, cutoff + 3 * DAY];

async function retentionRemovesExactly(readings?: ReadingStore) {
  const api = await openTestApi(readings ? { readings } : {});
  const store = readings ?? api.store;
  try {
    const company = await api.registry.createCompany(SETUP.scope, 'Keep Oy');
    const own = await api.registry.createPilot(SETUP.scope, { companyId: company.id, testbedId: 'vantaa', name: 'own limit' });
    const byTestbed = await api.registry.createPilot(SETUP.scope, { companyId: company.id, testbedId: 'vantaa', name: 'testbed default' });
    const forever = await api.registry.createPilot(SETUP.scope, { companyId: company.id, testbedId: 'oulu', name: 'kept' });
    const patch = await api.app.inject({ method: 'PATCH', url: `/v1/pilots/${own.id}`, headers: bearer(ADMIN), payload: { retentionDays: 30 } });
    expect(patch.json().retentionDays).toBe(30);
    const put = await api.app.inject({ method: 'PUT', url: '/v1/testbeds/vantaa/retention', headers: bearer(ADMIN), payload: { retentionDays: 10 } });
    expect(put.json()).toMatchObject({ id: 'vantaa', retentionDays: 10 });

    const cutoffs = new Map([
      [own.id, NOW - 30 * DAY],
      [byTestbed.id, NOW - 10 * DAY],
      [forever.id, NOW - 10 * DAY],
    ]);
    const devices = new Map<string, string>();
    for (const [pilotId, cutoff] of cutoffs) {
      const device = (await api.registry.createDevice(SETUP.scope, pilotId, { profile: 'noise' })).device;
      devices.set(pilotId, device.id);
      const rows: Reading[] = around(cutoff).map((time, i) => ({
        deviceId: device.id,
        pilotId,
        companyId: company.id,
        testbedId: device.testbedId,
        profile: 'noise',
        time,
        values: { laeq: 40 + i },
      }));
      await store.write(rows);
    }

    const swept = await api.lifecycle.sweepRetention(NOW);
    expect(swept.map((s) => [s.pilotId, s.deleted]).sort()).toEqual(
      [
        [own.id, 2],
        [byTestbed.id, 2],
      ].sort(),
    );
    for (const [pilotId, cutoff] of cutoffs) {
      const left = await store.queryRaw(SETUP.scope, {
        select: { kind: 'pilot', pilotId },
        from: 0,
        to: Number.MAX_SAFE_INTEGER,
        limit: 100,
        deadline: Date.now() + 10_000,
      });
      const expected = pilotId === forever.id ? around(cutoff) : around(cutoff).filter((t) => t >= cutoff);
      expect(
        left.map((r) => r.time),
        pilotId,
      ).toEqual(expected);
    }
    // Each deletion is in the audit log, where the testbed's operators see it.
    const audit = (await api.app.inject({ url: '/v1/audit?limit=1000', headers: bearer(ADMIN) })).json().entries as {
      route: string;
      pilotId: string;
      keyId: string;
    }[];
    const sweeps = audit.filter((e) => e.route === 'lifecycle: retention');
    expect(sweeps.map((e) => e.pilotId).sort()).toEqual([own.id, byTestbed.id].sort());
    expect(sweeps.every((e) => e.keyId === 'retention')).toBe(true);
    // A second sweep finds nothing more to delete.
    expect(await api.lifecycle.sweepRetention(NOW)).toEqual([]);
  } finally {
    await api.close();
  }
}

describe('retention', () => {
  it('removes exactly the readings older than the limit, on the embedded store', async () => retentionRemovesExactly(), 30_000);

  it('removes exactly the readings older than the limit, on a real InfluxDB 1.x', async () => {
    const influx = await InfluxStore.open({ url: influxd.url, token: undefined, bucket: 'retention', org: undefined }, log);
    try {
      await retentionRemovesExactly(influx);
    } finally {
      await influx.close();
    }
  }, 30_000);
});
