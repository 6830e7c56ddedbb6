import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { strFromU8, unzipSync } from 'fflate';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXPORT_PAGE_ROWS, Lifecycle, MANIFEST_FORMAT } from '../lifecycle/index.js';
import { SETUP_CALLER as SETUP } from '../registry/index.js';
import type { Reading, ReadingStore } from '../store/index.js';
import { bearer, openTestApi, type TestApi } from './helpers/api.js';
import { pino } from 'pino';
import { loadProfiles } from '../device-profiles/load.js';
import { tempDir } from './helpers/tmp.js';

const T0 = Date.parse('2025-06-01T00:00:00Z');
const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex');

let api: TestApi;
let base: string;
let key: string;
let pilotId: string;
const written = new Map<string, Reading[]>();

/** Polls an export until it is no longer running. */
async function finished(exportId: string, headers: Record<string, string>) {
  for (;;) {
    const job = (await (await fetch(`${base}/v1/exports/${exportId}`, { headers })).json()) as Record<string, unknown>;
    if (job.state !== 'running') return job;
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  api = await openTestApi();
  base = await api.app.listen({ port: 0, host: '127.0.0.1' }).then(() => `http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}`);
  const company = await api.registry.createCompany(SETUP.scope, 'Export Oy');
  const pilot = await api.registry.createPilot(SETUP.scope, {
    companyId: company.id,
    testbedId: 'turku',
    name: 'Harbour air',
    sharing: 'open',
    attribution: 'City of Turku',
  });
  pilotId = pilot.id;
  key = (await api.registry.createCompanyKey(SETUP, company.id)).key;
  const devices = await Promise.all(
    ['weather', 'noise', 'air-quality'].map(
      async (profile, i) => (await api.registry.createDevice(SETUP.scope, pilot.id, { profile, name: `Dev "${i}", north` })).device,
    ),
  );
  await api.registry.updateDevice(SETUP.scope, devices[0]!.id, { location: { type: 'Point', coordinates: [22.27, 60.45] } });
  for (const [d, device] of devices.entries()) {
    const rows: Reading[] = [];
    for (let i = 0; i < 3000 + d * 1000; i++) {
      const values: Record<string, number> =
        device.profile === 'weather'
          ? { temperature: (i % 50) * 0.5, humidity: 40 + (i % 20) }
          : device.profile === 'noise'
            ? { laeq: 40 + (i % 30) }
            : { pm25: (i % 90) * 0.25 };
      rows.push({
        deviceId: device.id,
        pilotId,
        companyId: company.id,
        testbedId: 'turku',
        profile: device.profile,
        time: T0 + i * 60_000,
        values,
        suspect: i % 97 === 0 ? Object.keys(values).slice(0, 1) : undefined,
      });
    }
    for (let i = 0; i < rows.length; i += 1000) await api.store.write(rows.slice(i, i + 1000));
    written.set(device.id, rows);
  }
  await api.store.writeRejections([
    {
      deviceId: devices[1]!.id,
      pilotId,
      companyId: company.id,
      testbedId: 'turku',
      time: T0,
      code: 'TESTBED_READING_NOT_JSON',
      reason: 'not, "JSON"',
      payload: '{nope',
      payloadEncoding: 'utf8',
      payloadBytes: 5,
      key: 'r1',
    },
  ]);
  await api.registry.endPilot(SETUP.scope, pilot.id);
});
afterAll(async () => api?.close());

describe('export bundle', () => {
  it('answers 202, shows progress, and the ZIP checks out file by file against its manifest and row by row against what was stored', async () => {
    const headers = bearer(key);
    const started = await fetch(`${base}/v1/pilots/${pilotId}/exports`, { method: 'POST', headers });
    expect(started.status).toBe(202);
    const { id } = (await started.json()) as { id: string };
    expect(started.headers.get('location')).toBe(`/v1/exports/${id}`);
    const job = await finished(id, headers);
    expect(job).toMatchObject({ state: 'done', readingsTotal: 12_000, readingsWritten: 12_000, error: null });

    const res = await fetch(`${base}/v1/exports/${id}/download`, { headers });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/zip');
    const zip = new Uint8Array(await res.arrayBuffer());
    expect(zip.length).toBe(job.bytes);
    expect(sha256(zip)).toBe(job.sha256);
    expect(res.headers.get('x-content-sha256')).toBe(job.sha256);

    const files = unzipSync(zip);
    const manifestBytes = files['manifest.json']!;
    expect(sha256(manifestBytes)).toBe(job.manifestSha256);
    const manifest = JSON.parse(strFromU8(manifestBytes)) as {
      format: string;
      readings: number;
      files: { path: string; bytes: number; rows: number; sha256: string }[];
    };
    expect(manifest.format).toBe(MANIFEST_FORMAT);
    expect(manifest.readings).toBe(12_000);
    expect(Object.keys(files).sort()).toEqual([...manifest.files.map((f) => f.path), 'manifest.json'].sort());
    for (const f of manifest.files) {
      expect(sha256(files[f.path]!), f.path).toBe(f.sha256);
      expect(files[f.path]!.length, f.path).toBe(f.bytes);
    }
    expect(manifest.files.map((f) => f.path)).toEqual(
      expect.arrayContaining(['pilot.json', 'devices.json', 'rejections.csv', 'profiles/weather.json', 'profiles/noise.json']),
    );

    for (const [deviceId, rows] of written) {
      const entry = manifest.files.find((f) => f.path === `readings/${deviceId}.csv`)!;
      expect(entry.rows).toBe(rows.length);
      const csv = parse(strFromU8(files[entry.path]!), { columns: true }) as Record<string, string>[];
      expect(csv).toHaveLength(rows.length);
      rows.forEach((r, i) => {
        const row = csv[i]!;
        expect(Date.parse(row.time!)).toBe(r.time);
        expect(row.deviceId).toBe(deviceId);
        for (const [m, v] of Object.entries(r.values)) {
          const column = Object.keys(row).find((c) => c.startsWith(`${m} [`));
          expect(Number(row[column!]), `${deviceId} ${i} ${m}`).toBe(v);
        }
        expect(row.suspect).toBe(r.suspect?.join(' ') ?? '');
      });
    }
    const header = strFromU8(files[`readings/${[...written.keys()].find((d) => written.get(d)![0]!.profile === 'weather')}.csv`]!).split('\r\n')[0];
    expect(header).toBe('time,deviceId,temperature [°C],humidity [%],pressure [hPa],wind_speed [m/s],wind_direction [°],precipitation [mm/h],suspect');
    const rejections = parse(strFromU8(files['rejections.csv']!), { columns: true }) as Record<string, string>[];
    expect(rejections).toEqual([expect.objectContaining({ code: 'TESTBED_READING_NOT_JSON', reason: 'not, "JSON"', payload: '{nope' })]);
    const pilotDoc = JSON.parse(strFromU8(files['pilot.json']!));
    expect(pilotDoc).toMatchObject({
      pilot: { id: pilotId, sharing: 'open', licence: 'CC-BY-4.0', attribution: 'City of Turku' },
      company: { name: 'Export Oy' },
      testbed: { id: 'turku' },
    });
    const devicesDoc = JSON.parse(strFromU8(files['devices.json']!)) as { locations: unknown[]; health: unknown }[];
    expect(devicesDoc).toHaveLength(3);
    expect(devicesDoc.some((d) => d.locations.length === 1)).toBe(true);
    expect(devicesDoc.every((d) => d.health !== null)).toBe(true);
  });

  it('another company cannot see, follow or download it: 404 as a missing one', async () => {
    const started = await fetch(`${base}/v1/pilots/${pilotId}/exports`, { method: 'POST', headers: bearer(key) });
    const { id } = (await started.json()) as { id: string };
    const other = (await api.registry.createCompanyKey(SETUP, (await api.registry.createCompany(SETUP.scope, 'Other Oy')).id)).key;
    for (const url of [`/v1/exports/${id}`, `/v1/exports/${id}/download`]) expect((await fetch(`${base}${url}`, { headers: bearer(other) })).status).toBe(404);
    await api.lifecycle.settled();
  });

  it('streams a big pilot a page at a time: the store is never asked for more than a page, and the heap stays bounded', async () => {
    const tmp = tempDir('testbed-export-big-');
    const company = await api.registry.createCompany(SETUP.scope, 'Big Oy');
    const pilot = await api.registry.createPilot(SETUP.scope, { companyId: company.id, testbedId: 'oulu', name: 'Big' });
    const devices = await Promise.all([0, 1].map(async () => (await api.registry.createDevice(SETUP.scope, pilot.id, { profile: 'weather' })).device));
    const total = 200_000;
    for (let i = 0; i < total; i += 10_000) {
      const batch: Reading[] = [];
      for (let j = i; j < i + 10_000; j++) {
        const device = devices[j % 2]!;
        batch.push({
          deviceId: device.id,
          pilotId: pilot.id,
          companyId: company.id,
          testbedId: 'oulu',
          profile: 'weather',
          time: T0 + Math.floor(j / 2) * 1000,
          values: { temperature: j % 40, humidity: 50, pressure: 1000 + (j % 30) },
        });
      }
      await api.store.write(batch);
    }
    // The same store, with each query's size recorded: a decorator, not a stand-in.
    const pages: number[] = [];
    const store = api.store;
    const counted: ReadingStore = {
      kind: store.kind,
      write: (r) => store.write(r),
      queryRaw: async (scope, q) => {
        const rows = await store.queryRaw(scope, q);
        pages.push(rows.length);
        return rows;
      },
      queryAggregate: (scope, q) => store.queryAggregate(scope, q),
      queryLatest: (scope, q) => store.queryLatest(scope, q),
      countReadings: (scope, slice) => store.countReadings(scope, slice),
      deleteReadings: (scope, slice) => store.deleteReadings(scope, slice),
      checkErased: (id) => store.checkErased(id),
      ping: () => store.ping(),
      close: () => store.close(),
    };
    const lifecycle = await Lifecycle.start({
      registry: api.registry,
      ledger: api.registry.lifecycle,
      readings: counted,
      rejections: api.store,
      profiles: loadProfiles(),
      log: pino({ level: 'silent' }),
      dataDir: tmp.dir,
      retentionEveryMs: 0,
    });
    global.gc?.();
    const heapBefore = process.memoryUsage().heapUsed;
    let maxHeap = heapBefore;
    const sampler = setInterval(() => (maxHeap = Math.max(maxHeap, process.memoryUsage().heapUsed)), 20);
    const job = (await lifecycle.startExport(SETUP, pilot.id))!;
    await lifecycle.settled();
    clearInterval(sampler);
    const done = (await api.registry.getExport(SETUP.scope, job.id))!;
    expect(done).toMatchObject({ state: 'done', readingsWritten: total, readingsTotal: total });
    expect(Math.max(...pages)).toBeLessThanOrEqual(EXPORT_PAGE_ROWS);
    expect(pages.reduce((a, b) => a + b, 0)).toBe(total);
    // Coarse: the uncompressed CSVs are ~15 MB and the whole pilot's rows as objects far more; a page is ~1 MB.
    expect(maxHeap - heapBefore).toBeLessThan(64 * 1024 * 1024);
    lifecycle.stop();
    tmp.remove();
  }, 30_000);
});
