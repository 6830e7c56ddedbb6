import type { Database } from './sql/database.js';
import type { Device, DeviceStatus, Scope } from '../core/index.js';
import { DEVICE_COLUMNS, ScopedStatements } from './statements.js';
import { HEALTH_COLUMNS, toHealth, type HealthRecord } from './health.js';

/** Which devices a fleet view lists; every filter is optional. */
export interface FleetFilter {
  readonly testbedId?: string | undefined;
  readonly pilotId?: string | undefined;
  readonly profile?: string | undefined;
  readonly statuses?: readonly DeviceStatus[] | undefined;
  readonly batteryLow?: boolean | undefined;
  readonly online?: boolean | undefined;
  /** Newest reading first (the default) or oldest first; devices without readings come last either way. */
  readonly order?: 'newest' | 'oldest' | undefined;
  /** Continue after this device: its lastReadingAt (-1 when none) and id. */
  readonly after?: { readonly lastReadingAt: number; readonly deviceId: string } | undefined;
  readonly limit: number;
}

export interface FleetRow {
  readonly device: Device;
  readonly health: HealthRecord;
}

/** Counts of one testbed's devices, by status, by profile and by pilot. */
export interface FleetCounts {
  readonly total: number;
  readonly byStatus: Record<DeviceStatus, number>;
  readonly byProfile: Record<string, number>;
  readonly byPilot: Record<string, number>;
  readonly online: number;
  readonly batteryLow: number;
}

const DEVICE_SELECT = 'd.id, d.pilot_id, d.company_id, d.testbed_id, d.profile, d.name, d.username, d.created_at, d.secret_rotated_at, d.revoked_at';
const FILTERS = `(@testbed IS NULL OR d.testbed_id = @testbed) AND (@pilot IS NULL OR d.pilot_id = @pilot) AND (@profile IS NULL OR d.profile = @profile)
  AND (@statuses IS NULL OR coalesce(h.status, 'never') IN (SELECT value FROM json_each(@statuses)))
  AND (@low IS NULL OR coalesce(h.battery_low, 0) = @low) AND (@online IS NULL OR coalesce(h.online, 0) = @online)`;

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** Fleet views: devices with their health across everything a scope sees, in one indexed query each. */
export class FleetQueries {
  readonly #scoped: ScopedStatements;

  constructor(db: Database) {
    this.#scoped = new ScopedStatements(db);
  }

  async list(scope: Scope, f: FleetFilter): Promise<FleetRow[]> {
    const newest = f.order !== 'oldest';
    // Devices without a reading sort as -1 (newest first) or as +infinity (oldest first): last either way.
    const key = newest ? 'coalesce(h.last_reading_at, -1)' : 'coalesce(h.last_reading_at, 9007199254740991)';
    const { stmt, scopeParams } = this.#scoped.get(
      `fleet-${newest ? 'newest' : 'oldest'}`,
      { ...scope },
      DEVICE_COLUMNS,
      (where) =>
        `SELECT ${DEVICE_SELECT}, ${HEALTH_COLUMNS} FROM devices d LEFT JOIN device_health h ON h.device_id = d.id
         WHERE (${where.replaceAll('?', '@scope')}) AND ${FILTERS}
           AND (@afterAt IS NULL OR ${key} ${newest ? '<' : '>'} @afterAt OR (${key} = @afterAt AND d.id > @afterId))
         ORDER BY ${key} ${newest ? 'DESC' : 'ASC'}, d.id LIMIT @limit`,
    );
    const afterAt = f.after ? (f.after.lastReadingAt < 0 ? (newest ? -1 : 9007199254740991) : f.after.lastReadingAt) : null;
    const rows = (await stmt.all({
      ...this.#params(f),
      ...(scopeParams.length > 0 ? { scope: scopeParams[0] } : {}),
      afterAt,
      afterId: f.after?.deviceId ?? null,
      limit: f.limit,
    })) as (Record<string, unknown> & { id: string })[];
    return rows.map((r) => ({ device: toDevice(r), health: toHealth(r as never) }));
  }

  async counts(scope: Scope, testbedId: string): Promise<FleetCounts> {
    const { stmt, scopeParams } = this.#scoped.get(
      'fleet-counts',
      scope,
      DEVICE_COLUMNS,
      (where) =>
        `SELECT d.profile, d.pilot_id, coalesce(h.status, 'never') AS status, coalesce(h.online, 0) AS online, coalesce(h.battery_low, 0) AS low, count(*) AS n
         FROM devices d LEFT JOIN device_health h ON h.device_id = d.id
         WHERE d.testbed_id = ? AND d.revoked_at IS NULL AND (${where}) GROUP BY 1, 2, 3, 4, 5`,
    );
    const counts: FleetCounts = { total: 0, byStatus: { never: 0, ok: 0, late: 0, silent: 0 }, byProfile: {}, byPilot: {}, online: 0, batteryLow: 0 };
    const add = (into: Record<string, number>, k: string, n: number) => (into[k] = (into[k] ?? 0) + n);
    for (const r of (await stmt.all(testbedId, ...scopeParams)) as {
      profile: string;
      pilot_id: string;
      status: DeviceStatus;
      online: number;
      low: number;
      n: number;
    }[]) {
      (counts as { total: number }).total += r.n;
      add(counts.byStatus, r.status, r.n);
      add(counts.byProfile, r.profile, r.n);
      add(counts.byPilot, r.pilot_id, r.n);
      if (r.online === 1) (counts as { online: number }).online += r.n;
      if (r.low === 1) (counts as { batteryLow: number }).batteryLow += r.n;
    }
    return counts;
  }

  #params(f: FleetFilter) {
    return {
      testbed: f.testbedId ?? null,
      pilot: f.pilotId ?? null,
      profile: f.profile ?? null,
      statuses: f.statuses ? JSON.stringify(f.statuses) : null,
      low: f.batteryLow === undefined ? null : f.batteryLow ? 1 : 0,
      online: f.online === undefined ? null : f.online ? 1 : 0,
    };
  }
}

function toDevice(r: Record<string, unknown>): Device {
  // The placement fields are filled in by the registry, which reads the device in the caller's scope.
  return {
    location: null,
    locationPrecisionMeters: null,
    placement: null,
    installedAt: null,
    removedAt: null,
    id: r.id as string,
    pilotId: r.pilot_id as string,
    companyId: r.company_id as string,
    testbedId: r.testbed_id as string,
    profile: r.profile as string,
    name: r.name as string | null,
    username: r.username as string,
    createdAt: iso(r.created_at as number)!,
    secretRotatedAt: iso(r.secret_rotated_at as number | null),
    revokedAt: iso(r.revoked_at as number | null),
  };
}
