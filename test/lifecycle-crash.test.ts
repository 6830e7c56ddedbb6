import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { Registry, SETUP_CALLER as SETUP } from '../registry/index.js';
import { EmbeddedStore } from '../store/embedded/store.js';
import type { Reading } from '../store/index.js';
import { childPipeline } from './helpers/child-pipeline.js';
import { freePorts } from './helpers/ports.js';
import { tempDir } from './helpers/tmp.js';

const ADMIN = 'crash-test-admin-token-0123456789';
const T0 = Date.parse('2025-10-01T00:00:00Z');
const TOTAL = 160_000;
const tmp = tempDir('testbed-erase-crash-');
afterAll(() => tmp.remove());

/** A pilot with TOTAL readings over four devices, ended, written straight into the data folder before the server starts. */
async function seed(): Promise<{ pilotId: string; name: string }> {
  const registry = await Registry.open(tmp.dir, ADMIN);
  const store = await EmbeddedStore.open(tmp.dir);
  try {
    const company = await registry.createCompany(SETUP.scope, 'Crash Oy');
    const pilot = await registry.createPilot(SETUP.scope, { companyId: company.id, testbedId: 'tampere', name: 'Hervanta counts' });
    const devices = await Promise.all([0, 1, 2, 3].map(async () => (await registry.createDevice(SETUP.scope, pilot.id, { profile: 'people-counter' })).device));
    for (let i = 0; i < TOTAL; i += 20_000) {
      const batch: Reading[] = [];
      for (let j = i; j < i + 20_000; j++) {
        const device = devices[j % 4]!;
        batch.push({
          deviceId: device.id,
          pilotId: pilot.id,
          companyId: company.id,
          testbedId: 'tampere',
          profile: 'people-counter',
          time: T0 + Math.floor(j / 4) * 1000,
          values: { people_in: j % 9 },
        });
      }
      await store.write(batch);
    }
    await registry.endPilot(SETUP.scope, pilot.id);
    return { pilotId: pilot.id, name: pilot.name };
  } finally {
    await store.close();
    await registry.close();
  }
}

describe('erasure survives a crash', () => {
  it('SIGKILL mid-erasure: after the restart it completes, and the receipt counts what was there before', async () => {
    const { pilotId, name } = await seed();
    const [mqttPort, httpPort] = (await freePorts(2)) as [number, number];
    const pipeline = childPipeline({
      TESTBED_DATA_DIR: tmp.dir,
      TESTBED_MQTT_PORT: String(mqttPort),
      TESTBED_HTTP_PORT: String(httpPort),
      TESTBED_ADMIN_TOKEN: ADMIN,
    });
    const api = `http://127.0.0.1:${httpPort}`;
    const headers = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
    await pipeline.start();
    try {
      const started = await fetch(`${api}/v1/pilots/${pilotId}/erase`, { method: 'POST', headers, body: JSON.stringify({ confirm: name }) });
      expect(started.status).toBe(202);
      expect(((await started.json()) as { state: string }).state).toBe('running');
      // Wait until deleting has begun (a read-only look at the database, beside the server's writer), then kill.
      const peek = new BetterSqlite3(path.join(tmp.dir, 'readings.db'), { readonly: true });
      const count = peek.prepare('SELECT count(*) FROM readings WHERE pilot_id = ?').pluck();
      while ((count.get(pilotId) as number) === TOTAL) await new Promise((r) => setTimeout(r, 10));
      peek.close();
      await pipeline.kill('SIGKILL');

      // Killed before the end: the registry still says running and no receipt exists.
      const registry = await Registry.open(tmp.dir, ADMIN);
      const store = await EmbeddedStore.open(tmp.dir);
      const left = Object.values(await store.countReadings(SETUP.scope, { pilotId })).reduce((a, b) => a + b, 0);
      expect((await registry.getErasure(SETUP.scope, pilotId))?.state).toBe('running');
      expect(left).toBeLessThan(TOTAL);
      await store.close();
      await registry.close();
      console.log(`killed mid-erasure with ${left} of ${TOTAL} readings left`);

      await pipeline.start();
      let erasure: { state: string; receiptId: string } = { state: 'running', receiptId: '' };
      for (let i = 0; i < 600 && erasure.state !== 'done'; i++) {
        erasure = (await (await fetch(`${api}/v1/pilots/${pilotId}/erasure`, { headers })).json()) as typeof erasure;
        if (erasure.state !== 'done') await new Promise((r) => setTimeout(r, 100));
      }
      expect(erasure.state).toBe('done');
      const receipt = (await (await fetch(`${api}/v1/receipts/${erasure.receiptId}`, { headers })).json()) as {
        receipt: { erased: { readings: { total: number } }; checks: { result: number }[] };
      };
      expect(receipt.receipt.erased.readings.total).toBe(TOTAL);
      expect(receipt.receipt.checks.every((c) => c.result === 0)).toBe(true);
      const readings = (await (await fetch(`${api}/v1/pilots/${pilotId}/readings`, { headers })).json()) as { readings: unknown[] };
      expect(readings.readings).toEqual([]);
    } finally {
      await pipeline.kill('SIGKILL');
    }
  }, 60_000);
});
