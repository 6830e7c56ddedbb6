import fs from 'node:fs';
import { isoTime, TestbedError, type Erasure, type Pilot } from '../core/index.js';
import { SETUP_CALLER, type RegistryErasure } from '../registry/index.js';
import type { DeviceCounts, ErasureCheck } from '../store/index.js';
import { bundlePath } from './export-job.js';
import type { ReceiptSigner } from './signing.js';
import type { LifecycleDeps } from './types.js';

/** The erasure acts for the testbed, over every store: the all scope. */
const ALL = SETUP_CALLER.scope;

/** What was there before anything was deleted: counted once, kept in the registry, so a resumed erasure reports the same. */
interface Counted {
  readonly store: 'embedded' | 'influx';
  readonly readings: DeviceCounts;
  readonly range: { readonly from: string; readonly to: string } | null;
  readonly rejections: DeviceCounts;
  readonly registry: RegistryErasure;
  readonly bundles: number;
}

const sum = (counts: DeviceCounts): number => Object.values(counts).reduce((a, b) => a + b, 0);

/** The first and newest reading time over the pilot's devices, from the store's own queries (a page of one, the newest values). */
async function timeRange(deps: LifecycleDeps, pilot: Pilot, deviceIds: string[]): Promise<Counted['range']> {
  if (deviceIds.length === 0) return null;
  const first = await deps.readings.queryRaw(ALL, {
    select: { kind: 'pilot', pilotId: pilot.id },
    from: 0,
    to: Number.MAX_SAFE_INTEGER,
    limit: 1,
    deadline: Date.now() + 60_000,
  });
  const latest = await deps.readings.queryLatest(ALL, { pilotId: pilot.id, deviceIds });
  const newest = Math.max(...latest.map((r) => r.time));
  return first[0] && Number.isFinite(newest) ? { from: isoTime(first[0].time), to: isoTime(newest) } : null;
}

async function count(deps: LifecycleDeps, pilot: Pilot): Promise<Counted> {
  const readings = await deps.readings.countReadings(ALL, { pilotId: pilot.id });
  return {
    store: deps.readings.kind,
    readings,
    range: await timeRange(deps, pilot, Object.keys(readings)),
    rejections: await deps.rejections.countRejections(pilot.id),
    registry: await deps.ledger.countRemnants(pilot.id),
    bundles: (await deps.ledger.exportIds(pilot.id)).filter((id) => fs.existsSync(bundlePath(deps.dataDir, id))).length,
  };
}

/**
 * Runs an erasure to its end; every step is idempotent, so one that a crash
 * interrupted runs again from the start after a restart and finishes. First
 * what is there is counted (once) and kept; then the queue is let deliver what
 * the pilot's devices sent before the erasure began; then readings,
 * devices' traces outside the stores (state in memory, retained messages,
 * the queue's delivered segment files), readings, rejections, bundles and the
 * devices' credentials, places, health, events, commands, configuration
 * documents and alerts are removed; then each store is asked whether anything
 * is left, and only when every check finds nothing is the receipt signed and kept.
 */
export async function runErasure(deps: LifecycleDeps, signer: ReceiptSigner, erasure: Erasure): Promise<void> {
  const pilot = await deps.registry.getPilot(ALL, erasure.pilotId);
  if (!pilot || erasure.receiptId === null) return;
  const started = Date.parse(erasure.startedAt ?? isoTime(Date.now()));
  for (const device of await deps.registry.listDevices(ALL, pilot.id)) deps.sessions?.disconnect(device.id, 'pilot ended');
  await deps.queueSettled?.(started);

  let counted = (await deps.ledger.counted(pilot.id)) as Counted | undefined;
  if (!counted) {
    await deps.ledger.recordCounted(pilot.id, await count(deps, pilot));
    counted = (await deps.ledger.counted(pilot.id)) as Counted;
  }

  // Before the stores are cleared: what is forgotten in memory cannot be written back to them afterwards.
  const deviceIds = (await deps.registry.listDevices(ALL, pilot.id)).map((d) => d.id);
  await deps.traces?.forget(deviceIds);
  await deps.readings.deleteReadings(ALL, { pilotId: pilot.id });
  await deps.rejections.deleteRejections(pilot.id);
  for (const id of await deps.ledger.exportIds(pilot.id)) fs.rmSync(bundlePath(deps.dataDir, id), { force: true });
  await deps.ledger.eraseRemnants(pilot.id);

  const checks: ErasureCheck[] = [
    ...(await deps.readings.checkErased(pilot.id)),
    // The embedded store's checks cover its rejections table too; beside InfluxDB the rejection log is checked on its own.
    ...(deps.readings.kind === 'embedded' ? [] : await deps.rejections.checkErased(pilot.id)),
    ...(await deps.ledger.checkRemnants(pilot.id)),
    ...((await deps.traces?.check(pilot.id, deviceIds)) ?? []),
    ...(await deps.ledger.exportIds(pilot.id)).map((id) => ({
      store: 'files',
      query: `test -e exports/${id}.zip`,
      result: fs.existsSync(bundlePath(deps.dataDir, id)) ? 1 : 0,
    })),
  ];
  const left = checks.filter((c) => c.result !== 0);
  if (left.length > 0)
    throw new TestbedError('TESTBED_INTERNAL', `erasure of ${pilot.id} left data behind: ${left.map((c) => `${c.query} = ${c.result}`).join('; ')}`);

  const last = await deps.ledger.lastExport(pilot.id);
  const claims = {
    type: 'testbed-erasure-receipt',
    version: 1,
    id: erasure.receiptId,
    pilot: { id: pilot.id, name: pilot.name, companyId: pilot.companyId, testbedId: pilot.testbedId },
    requestedBy: erasure.requestedBy,
    forced: erasure.forced,
    startedAt: erasure.startedAt,
    completedAt: isoTime(Date.now()),
    erased: {
      readings: { store: counted.store, total: sum(counted.readings), perDevice: counted.readings, timeRange: counted.range },
      rejections: { store: 'embedded', total: sum(counted.rejections), perDevice: counted.rejections },
      registry: counted.registry,
      exportBundles: counted.bundles,
    },
    kept: ['the pilot and device records (without credentials or places)', 'the audit log', 'this receipt', 'export checksums'],
    checks,
    lastExport: last ? { id: last.id, sha256: last.sha256, manifestSha256: last.manifestSha256, finishedAt: last.finishedAt } : null,
    iat: Math.floor(Date.now() / 1000),
  };
  await deps.ledger.completeErasure(pilot, erasure.receiptId, signer.sign(claims));
  await deps.registry.recordAudit(
    // The lifecycle stage writes it, on behalf of the key that asked (named in the entry).
    { ...SETUP_CALLER, keyId: 'lifecycle' },
    {
      action: 'change',
      method: 'ERASE',
      route: 'lifecycle: erasure complete',
      url: `erased pilot ${pilot.id} as asked by key ${erasure.requestedBy}: ${sum(counted.readings)} readings, ${sum(counted.rejections)} rejections; receipt ${erasure.receiptId}`,
      status: 200,
      companyId: pilot.companyId,
      testbedId: pilot.testbedId,
      pilotId: pilot.id,
      deviceId: null,
    },
  );
}
