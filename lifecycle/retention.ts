import { isoTime } from '../core/index.js';
import { SETUP_CALLER } from '../registry/index.js';
import type { LifecycleDeps } from './types.js';

const DAY_MS = 86_400_000;

/** What one sweep deleted, per pilot. */
export interface RetentionResult {
  readonly pilotId: string;
  readonly before: string;
  readonly deleted: number;
}

/**
 * Deletes, for every pilot with a retention limit (its own `retentionDays`, else
 * its testbed's), the readings older than that many days before `now`. The
 * stores delete in slices, so ingest keeps writing meanwhile. Each deletion is
 * written to the audit log (key `retention`) with how many readings went.
 */
export async function sweepRetention(deps: LifecycleDeps, now: number): Promise<RetentionResult[]> {
  const results: RetentionResult[] = [];
  for (const plan of await deps.ledger.retentionPlan()) {
    const before = now - plan.days * DAY_MS;
    const slice = { pilotId: plan.pilotId, before };
    const counts = await deps.readings.countReadings(SETUP_CALLER.scope, slice);
    const deleted = Object.values(counts).reduce((a, b) => a + b, 0);
    if (deleted === 0) continue;
    await deps.readings.deleteReadings(SETUP_CALLER.scope, slice);
    results.push({ pilotId: plan.pilotId, before: isoTime(before), deleted });
    await deps.registry.recordAudit(
      { ...SETUP_CALLER, keyId: 'retention' },
      {
        action: 'change',
        method: 'DELETE',
        route: 'lifecycle: retention',
        url: `deleted ${deleted} readings of pilot ${plan.pilotId} older than ${isoTime(before)} (${plan.days} days)`,
        status: 200,
        companyId: plan.companyId,
        testbedId: plan.testbedId,
        pilotId: plan.pilotId,
        deviceId: null,
      },
    );
  }
  return results;
}
