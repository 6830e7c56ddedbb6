import type { Database, Statement } from './sql/database.js';
import { coarsen, type DeviceLocation, type Point, type Scope, isoTime } from '../core/index.js';
import { ScopedStatements } from './statements.js';

/** A location as stored: three columns, altitude optional. */
export interface LocationColumns {
  lon: number | null;
  lat: number | null;
  alt: number | null;
}

/** The point of stored columns, or null when the device has no location. */
export const pointOf = (c: LocationColumns): Point | null => {
  if (c.lon === null || c.lat === null) return null;
  return { type: 'Point', coordinates: c.alt === null ? [c.lon, c.lat] : [c.lon, c.lat, c.alt] };
};

/** The columns of a point (or of none). */
export const columnsOf = (p: Point | null): LocationColumns => ({
  lon: p?.coordinates[0] ?? null,
  lat: p?.coordinates[1] ?? null,
  alt: p?.coordinates[2] ?? null,
});

export const samePoint = (a: Point | null, b: Point | null): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * The grid a reader sees a pilot's locations on: researchers and anonymous
 * callers (the `research` scope) get the pilot's `locationPrecisionMeters`;
 * the company, its operators and the admin get exact places.
 */
export const precisionFor = (scope: Scope, pilotPrecision: number | null): number | null => (scope.kind === 'research' ? pilotPrecision : null);

/** The point as this reader may see it. */
export const published = (p: Point | null, precision: number | null): Point | null => (p === null || precision === null ? p : coarsen(p, precision));

export interface HistoryRow extends LocationColumns {
  device_id: string;
  valid_from: number;
  valid_to: number | null;
  precision: number | null;
}

/** A stored stretch as the reader in `scope` sees it. */
export const stretchOf =
  (scope: Scope) =>
  (r: HistoryRow): DeviceLocation => ({
    deviceId: r.device_id,
    location: published(pointOf(r), precisionFor(scope, r.precision)) as Point,
    from: isoTime(r.valid_from),
    to: r.valid_to === null ? null : isoTime(r.valid_to),
  });

/**
 * Where each device has stood: one row per stretch, `valid_to` null for the
 * current one. A change closes the current stretch and opens the next at the
 * same instant, so the stretches of a device never overlap or leave a gap.
 */
export class LocationHistory {
  readonly #scoped: ScopedStatements;
  readonly #close: Statement;
  readonly #open: Statement;
  readonly #replace: Statement;

  constructor(db: Database) {
    this.#scoped = new ScopedStatements(db);
    this.#close = db.prepare('UPDATE device_locations SET valid_to = ? WHERE device_id = ? AND valid_to IS NULL AND valid_from < ?');
    // Two changes within one millisecond: the later one wins that stretch.
    this.#replace = db.prepare('DELETE FROM device_locations WHERE device_id = ? AND valid_from = ?');
    this.#open = db.prepare(
      'INSERT INTO device_locations (device_id, company_id, testbed_id, pilot_id, lon, lat, alt, valid_from) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
  }

  /** Records that the device stands at `point` (or nowhere known: null) from `at`. Run inside the device change's transaction. */
  async move(device: { id: string; company_id: string; testbed_id: string; pilot_id: string }, point: Point | null, at: number): Promise<void> {
    await this.#close.run(at, device.id, at);
    await this.#replace.run(device.id, at);
    if (point === null) return;
    const c = columnsOf(point);
    await this.#open.run(device.id, device.company_id, device.testbed_id, device.pilot_id, c.lon, c.lat, c.alt, at);
  }

  /** The stretches of one device the scope may see, oldest first, on the reader's grid. */
  async list(scope: Scope, deviceId: string): Promise<DeviceLocation[]> {
    const { stmt, scopeParams } = this.#scoped.get(
      'list',
      scope,
      { company: 'l.company_id', testbed: 'l.testbed_id', pilot: 'l.pilot_id' },
      (where) =>
        `SELECT l.*, p.location_precision_m AS precision FROM device_locations l JOIN pilots p ON p.id = l.pilot_id
         WHERE l.device_id = ? AND (${where}) ORDER BY l.valid_from`,
    );
    return ((await stmt.all(deviceId, ...scopeParams)) as HistoryRow[]).map(stretchOf(scope));
  }
}
