import path from 'node:path';
import { isoTime, type Caller, type Device, type Pilot, type PilotExport } from '../core/index.js';
import type { SeriesRow } from '../store/index.js';
import { BundleWriter, type ManifestEntry, type Piece } from './bundle.js';
import { csvLine } from './csv.js';
import type { LifecycleDeps } from './types.js';

/** Readings read from the store per query: one page is all a bundle holds in memory. */
export const EXPORT_PAGE_ROWS = 5000;
/** How long one page may take. */
const PAGE_MS = 60_000;
/** The manifest's format, so a reader knows what the fields mean. */
export const MANIFEST_FORMAT = 'testbed-export/1';

/** Where a bundle is kept. */
export const bundlePath = (dataDir: string, exportId: string): string => path.join(dataDir, 'exports', `${exportId}.zip`);

/**
 * Builds a pilot's bundle, as the caller who asked for it sees the pilot: a CSV
 * of readings per device (`readings/<deviceId>.csv`, units in the header, the
 * quality flag last), `rejections.csv`, `pilot.json`, `devices.json`,
 * `profiles/<id>.json`, and last `manifest.json` with each file's size, rows
 * and SHA-256. Readings are read a page at a time, device after device.
 */
export async function buildBundle(deps: LifecycleDeps, caller: Caller, pilot: Pilot, job: PilotExport): Promise<void> {
  const { registry, ledger, readings } = deps;
  const scope = caller.scope;
  const devices = await registry.listDevices(scope, pilot.id);
  const counts = await readings.countReadings(scope, { pilotId: pilot.id });
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  let written = 0;
  await ledger.exportProgress(job.id, 0, total);

  const writer = new BundleWriter(bundlePath(deps.dataDir, job.id), new Date(Date.parse(job.createdAt)));
  try {
    const files: ManifestEntry[] = [];
    for (const device of [...devices].sort((a, b) => (a.id < b.id ? -1 : 1))) {
      const pages = readingPages(deps, caller, device, async (n) => {
        written += n;
        await ledger.exportProgress(job.id, written, Math.max(total, written));
      });
      files.push(await writer.add(`readings/${device.id}.csv`, pages));
    }
    files.push(await writer.add('rejections.csv', rejectionPages(deps, caller, pilot.id)));
    files.push(await writer.add('pilot.json', [json(await pilotDocument(deps, caller, pilot), 1)]));
    files.push(await writer.add('devices.json', [json(await devicesDocument(deps, caller, devices), devices.length)]));
    for (const id of [...new Set(devices.map((d) => d.profile))].sort()) {
      const profile = deps.profiles.get(id)?.profile;
      if (profile) files.push(await writer.add(`profiles/${id}.json`, [json(profile, 1)]));
    }
    const manifest = {
      format: MANIFEST_FORMAT,
      exportId: job.id,
      pilotId: pilot.id,
      createdAt: job.createdAt,
      store: readings.kind,
      readings: written,
      files,
    };
    const entry = await writer.add('manifest.json', [json(manifest, files.length)]);
    const bundle = await writer.finish();
    await ledger.finishExport(job.id, { ...bundle, manifestSha256: entry.sha256, readingsWritten: written });
  } catch (err) {
    writer.abort();
    throw err;
  }
}

const json = (value: unknown, rows: number): Piece => ({ text: `${JSON.stringify(value, null, 2)}\n`, rows });

/** A device's readings as CSV pieces: the header (`time,deviceId,<measurement> [<unit>]...,suspect`), then a piece per page. */
async function* readingPages(deps: LifecycleDeps, caller: Caller, device: Device, onPage: (rows: number) => Promise<void>): AsyncGenerator<Piece> {
  const measurements = deps.profiles.get(device.profile)?.profile.measurements ?? [];
  const names = measurements.map((m) => m.name);
  yield { text: csvLine(['time', 'deviceId', ...measurements.map((m) => `${m.name} [${m.unit}]`), 'suspect']), rows: 0 };
  let after: SeriesRow | undefined;
  for (;;) {
    const page = await deps.readings.queryRaw(caller.scope, {
      select: { kind: 'device', deviceId: device.id },
      from: 0,
      to: Number.MAX_SAFE_INTEGER,
      after: after && { time: after.time, deviceId: after.deviceId },
      limit: EXPORT_PAGE_ROWS,
      deadline: Date.now() + PAGE_MS,
    });
    if (page.length === 0) return;
    const text = page.map((r) => csvLine([isoTime(r.time), r.deviceId, ...names.map((n) => r.values[n]), r.suspect?.join(' ') ?? ''])).join('');
    await onPage(page.length);
    yield { text, rows: page.length };
    if (page.length < EXPORT_PAGE_ROWS) return;
    after = page[page.length - 1];
  }
}

/** The pilot's rejections as CSV pieces, oldest first. */
async function* rejectionPages(deps: LifecycleDeps, caller: Caller, pilotId: string): AsyncGenerator<Piece> {
  yield { text: csvLine(['time', 'deviceId', 'code', 'reason', 'payloadEncoding', 'payloadBytes', 'payload']), rows: 0 };
  for (let afterId = 0; ;) {
    const page = await deps.rejections.pilotRejections(caller.scope, { pilotId, afterId, limit: 1000 });
    if (page.length === 0) return;
    yield {
      text: page.map((r) => csvLine([isoTime(r.time), r.deviceId, r.code, r.reason, r.payloadEncoding, r.payloadBytes, r.payload])).join(''),
      rows: page.length,
    };
    afterId = page[page.length - 1]!.id;
  }
}

/** pilot.json: the pilot with its company and testbed (sharing, licence, attribution and dates are the pilot's own fields). */
async function pilotDocument(deps: LifecycleDeps, caller: Caller, pilot: Pilot) {
  return {
    pilot,
    company: (await deps.registry.getCompany(caller.scope, pilot.companyId)) ?? { id: pilot.companyId },
    testbed: (await deps.registry.getTestbed(pilot.testbedId)) ?? { id: pilot.testbedId },
    exportedAt: isoTime(Date.now()),
  };
}

/** devices.json: each device with its location history and its health when the bundle was made. */
async function devicesDocument(deps: LifecycleDeps, caller: Caller, devices: readonly Device[]) {
  const documents = [];
  for (const device of devices) {
    documents.push({
      ...device,
      locations: (await deps.registry.listDeviceLocations(caller.scope, device.id)) ?? [],
      health: (await deps.registry.getDeviceHealth(caller.scope, device.id)) ?? null,
    });
  }
  return documents;
}
