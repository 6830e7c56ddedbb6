import type { Database } from './sql/database.js';
import type { Device, DeviceLocation, Scope } from '../core/index.js';
import { precisionFor, stretchOf, type HistoryRow } from './device-locations.js';
import { QUALIFIED, SELECT, toDevice, type ReadRow } from './devices.js';
import { ScopedStatements } from './statements.js';

/** LIMIT for "all of them": SQLite takes -1 for that, PostgreSQL does not. */
const NO_LIMIT = Number.MAX_SAFE_INTEGER;

/** Which of the devices a scope sees: a page in id order, or those with these ids. */
export interface DevicePage {
  /** Devices with an id above this one. */
  readonly afterId?: string | undefined;
  readonly limit?: number | undefined;
  /** Leave out this many first (after `afterId`). */
  readonly offset?: number | undefined;
  /** Only these devices (those of them the scope sees). */
  readonly ids?: readonly string[] | undefined;
}

/**
 * The devices and location histories of a whole scope, each in one query:
 * for readers that span pilots (the SensorThings service), so that a listing
 * costs one statement rather than one per pilot and one per device, and a page
 * is cut by SQL rather than after reading everything.
 */
export class DevicePages {
  readonly #scoped: ScopedStatements;

  constructor(db: Database) {
    this.#scoped = new ScopedStatements(db);
  }

  /** Devices the scope sees, in id order, locations on the reader's grid as everywhere. */
  async list(scope: Scope, page: DevicePage = {}): Promise<Device[]> {
    const { stmt, scopeParams } = this.#scoped.get(
      'page',
      scope,
      QUALIFIED,
      (where) => `${SELECT} WHERE d.id > ? AND (? IS NULL OR d.id IN (SELECT value FROM json_each(?))) AND (${where}) ORDER BY d.id LIMIT ? OFFSET ?`,
    );
    const ids = page.ids === undefined ? null : JSON.stringify(page.ids);
    const rows = (await stmt.all(page.afterId ?? '', ids, ids, ...scopeParams, page.limit ?? NO_LIMIT, page.offset ?? 0)) as ReadRow[];
    return rows.map((r) => toDevice(r, precisionFor(scope, r.precision)));
  }

  /** How many devices the scope sees. */
  async count(scope: Scope): Promise<number> {
    const { stmt, scopeParams } = this.#scoped.get('count', scope, QUALIFIED, (where) => `SELECT count(*) AS n FROM devices d WHERE ${where}`);
    return ((await stmt.get(...scopeParams)) as { n: number }).n;
  }

  /** The location stretches of the devices the scope sees (or of these ones), by device and oldest first. */
  async locations(scope: Scope, deviceIds?: readonly string[]): Promise<DeviceLocation[]> {
    const { stmt, scopeParams } = this.#scoped.get(
      'locations',
      scope,
      { company: 'l.company_id', testbed: 'l.testbed_id', pilot: 'l.pilot_id' },
      (where) =>
        `SELECT l.*, p.location_precision_m AS precision FROM device_locations l JOIN pilots p ON p.id = l.pilot_id
         WHERE (? IS NULL OR l.device_id IN (SELECT value FROM json_each(?))) AND (${where}) ORDER BY l.device_id, l.valid_from`,
    );
    const ids = deviceIds === undefined ? null : JSON.stringify(deviceIds);
    return ((await stmt.all(ids, ids, ...scopeParams)) as HistoryRow[]).map(stretchOf(scope));
  }
}
