import type { Database, Statement } from './sql/database.js';
import type { DeviceEvent, DeviceStatus, DisconnectReason, Placement, Scope } from '../core/index.js';
import { reportedInterval } from './device-config.js';
import { HealthBatchWriter } from './health-batch.js';
import { DEVICE_COLUMNS, ScopedStatements } from './statements.js';

/** A device's health as kept: epoch ms times, the status as last evaluated. */
export interface HealthRecord {
  readonly online: boolean;
  readonly lastConnectedAt: number | null;
  readonly lastDisconnectedAt: number | null;
  readonly disconnectReason: DisconnectReason | null;
  readonly lastSeen: number | null;
  readonly lastReadingAt: number | null;
  readonly status: DeviceStatus;
  readonly battery: number | null;
  readonly batteryLow: boolean | null;
  readonly signal: number | null;
  /** The `reportingIntervalSeconds` the device last reported in its configuration, which replaces its profile's. */
  readonly reportedIntervalSeconds: number | null;
}

export const NO_HEALTH: HealthRecord = {
  online: false,
  lastConnectedAt: null,
  lastDisconnectedAt: null,
  disconnectReason: null,
  lastSeen: null,
  lastReadingAt: null,
  status: 'never',
  battery: null,
  batteryLow: null,
  signal: null,
  reportedIntervalSeconds: null,
};

/** What a batch of stored readings says about a device: folded in with the newest winning. */
export interface ActivityUpdate {
  readonly deviceId: string;
  readonly lastReadingAt: number;
  /** The late and silent thresholds of its profile, in ms. */
  readonly lateMs: number;
  readonly silentMs: number;
  readonly battery?: { readonly value: number; readonly low: boolean } | undefined;
  readonly signal?: number | undefined;
}

/** A connection opened or closed. */
export interface ConnectionUpdate {
  readonly deviceId: string;
  readonly at: number;
  readonly online: boolean;
  /** Whether any connection of the device is still open (a device may hold several). */
  readonly reason?: DisconnectReason | undefined;
}

/** A status that changed, with where the device sits (for events and alerts). */
export interface StatusChange extends Placement {
  readonly deviceId: string;
  readonly from: DeviceStatus;
  readonly to: DeviceStatus;
}

interface HealthRow {
  online: number | null;
  last_connected_at: number | null;
  last_disconnected_at: number | null;
  disconnect_reason: string | null;
  last_seen: number | null;
  last_reading_at: number | null;
  status: string | null;
  battery: number | null;
  battery_low: number | null;
  signal: number | null;
  reported: string | null;
}

/** The health columns of a query over `devices d LEFT JOIN device_health h`, with the interval the device reported. */
export const HEALTH_COLUMNS =
  'h.online, h.last_connected_at, h.last_disconnected_at, h.disconnect_reason, h.last_seen, h.last_reading_at, h.status, h.battery, h.battery_low, h.signal, ' +
  '(SELECT c.reported FROM device_config c WHERE c.device_id = d.id) AS reported';

export const toHealth = (r: HealthRow): HealthRecord => ({
  online: r.online === 1,
  lastConnectedAt: r.last_connected_at,
  lastDisconnectedAt: r.last_disconnected_at,
  disconnectReason: r.disconnect_reason as DisconnectReason | null,
  lastSeen: r.last_seen,
  lastReadingAt: r.last_reading_at,
  status: (r.status ?? 'never') as DeviceStatus,
  battery: r.battery,
  batteryLow: r.battery_low === null ? null : r.battery_low === 1,
  signal: r.signal,
  reportedIntervalSeconds: reportedInterval(r.reported),
});

/** The status a reading time gives at `now`, in SQL (the same rule as `statusAt`). */
const STATUS_SQL = `CASE WHEN last_reading_at IS NULL THEN 'never' WHEN @now - last_reading_at > silent_ms THEN 'silent' WHEN @now - last_reading_at > late_ms THEN 'late' ELSE 'ok' END`;

/**
 * Device health, written in batches by the health stage (one transaction per
 * batch of stored readings, never one write per reading) and read by the API
 * in the caller's scope.
 */
export class HealthTable {
  readonly #db: Database;
  readonly #scoped: ScopedStatements;
  readonly #s: Record<'offline' | 'due' | 'setStatus' | 'event' | 'contract', Statement>;
  readonly #batch: HealthBatchWriter;

  constructor(db: Database) {
    this.#db = db;
    this.#scoped = new ScopedStatements(db);
    this.#batch = new HealthBatchWriter(db);
    this.#s = {
      offline: db.prepare('UPDATE device_health SET online = 0 WHERE online = 1'),
      due: db.prepare(
        `SELECT h.device_id, h.status AS "from", ${STATUS_SQL} AS "to", d.company_id, d.testbed_id, d.pilot_id
         FROM device_health h JOIN devices d ON d.id = h.device_id
         WHERE h.last_reading_at IS NOT NULL AND h.status <> ${STATUS_SQL}`,
      ),
      setStatus: db.prepare('UPDATE device_health SET status = ? WHERE device_id = ?'),
      contract: db.prepare('UPDATE device_health SET late_ms = ?, silent_ms = ? WHERE device_id = ?'),
      event: db.prepare('INSERT INTO device_events (device_id, time, type, detail) SELECT id, ?, ?, ? FROM devices WHERE id = ?'),
    };
  }

  /** A device's late and silent thresholds changed (it reported a new interval); its status follows at the next evaluation. */
  async setContract(deviceId: string, lateMs: number, silentMs: number): Promise<void> {
    await this.#s.contract.run(lateMs, silentMs, deviceId);
  }

  /** No connection survives a restart: every device starts offline. */
  async resetOnline(): Promise<void> {
    await this.#s.offline.run();
  }

  /** Folds a batch of reading activity in, in one transaction; the devices whose status was not `ok` come back as changes. */
  async recordActivity(updates: readonly ActivityUpdate[]): Promise<StatusChange[]> {
    if (updates.length === 0) return [];
    return this.#db.transaction(async () => {
      const ids = updates.map((u) => u.deviceId);
      await this.#batch.ensure(ids);
      const before = await this.#batch.notOk(ids);
      await this.#batch.activity(
        updates.map((u) => ({
          id: u.deviceId,
          at: u.lastReadingAt,
          late: u.lateMs,
          silent: u.silentMs,
          battery: u.battery?.value ?? null,
          low: u.battery === undefined ? null : u.battery.low ? 1 : 0,
          signal: u.signal ?? null,
        })),
      );
      const at = new Map(updates.map((u) => [u.deviceId, u.lastReadingAt]));
      await this.#batch.events(before.map((b) => ({ deviceId: b.device_id, at: at.get(b.device_id)!, event: { type: 'status', from: b.status, to: 'ok' } })));
      return before.map((b) => ({ deviceId: b.device_id, from: b.status, to: 'ok', companyId: b.company_id, testbedId: b.testbed_id, pilotId: b.pilot_id }));
    });
  }

  /** Each device's newest stored reading (epoch ms), for those that have one. */
  async lastReadingTimes(): Promise<Map<string, number>> {
    const rows = (await this.#db.prepare('SELECT device_id, last_reading_at FROM device_health WHERE last_reading_at IS NOT NULL').all()) as {
      device_id: string;
      last_reading_at: number;
    }[];
    return new Map(rows.map((r) => [r.device_id, Number(r.last_reading_at)]));
  }

  async recordConnections(updates: readonly ConnectionUpdate[]): Promise<void> {
    if (updates.length === 0) return;
    await this.#db.transaction(async () => {
      await this.#batch.ensure([...new Set(updates.map((u) => u.deviceId))]);
      const opened = (u: ConnectionUpdate) => u.online && u.reason === undefined;
      await this.#batch.connections(
        updates.map((u) => ({ id: u.deviceId, at: u.at, online: u.online ? 1 : 0, reason: opened(u) ? null : (u.reason ?? null), opened: opened(u) ? 1 : 0 })),
      );
      await this.#batch.events(
        updates.map((u) => ({
          deviceId: u.deviceId,
          at: u.at,
          event: opened(u) ? { type: 'connected' } : { type: 'disconnected', ...(u.reason ? { reason: u.reason } : {}) },
        })),
      );
    });
  }

  async recordEvent(deviceId: string, at: number, event: Omit<DeviceEvent, 'time'>): Promise<void> {
    await this.#event(deviceId, at, event);
  }

  /** Moves every device whose status the clock has changed, and says which. */
  async evaluate(now: number): Promise<StatusChange[]> {
    return this.#db.transaction(async () => {
      const due = (await this.#s.due.all({ now })) as {
        device_id: string;
        from: DeviceStatus;
        to: DeviceStatus;
        company_id: string;
        testbed_id: string;
        pilot_id: string;
      }[];
      for (const d of due) {
        await this.#s.setStatus.run(d.to, d.device_id);
        await this.#event(d.device_id, now, { type: 'status', from: d.from, to: d.to });
      }
      return due.map((d) => ({ deviceId: d.device_id, from: d.from, to: d.to, companyId: d.company_id, testbedId: d.testbed_id, pilotId: d.pilot_id }));
    });
  }

  async get(scope: Scope, deviceId: string): Promise<HealthRecord | undefined> {
    const { stmt, scopeParams } = this.#scoped.get(
      'health',
      scope,
      DEVICE_COLUMNS,
      (where) => `SELECT ${HEALTH_COLUMNS} FROM devices d LEFT JOIN device_health h ON h.device_id = d.id WHERE d.id = ? AND (${where})`,
    );
    const row = (await stmt.get(deviceId, ...scopeParams)) as HealthRow | undefined;
    return row && toHealth(row);
  }

  /** The events of a device in the scope, oldest first, in [from, to). */
  async events(scope: Scope, deviceId: string, from: number, to: number, limit: number): Promise<DeviceEvent[]> {
    const { stmt, scopeParams } = this.#scoped.get(
      'events',
      scope,
      DEVICE_COLUMNS,
      (where) =>
        `SELECT e.time, e.type, e.detail FROM device_events e JOIN devices d ON d.id = e.device_id
         WHERE e.device_id = ? AND e.time >= ? AND e.time < ? AND (${where}) ORDER BY e.time, e.id LIMIT ?`,
    );
    const rows = (await stmt.all(deviceId, from, to, ...scopeParams, limit)) as { time: number; type: DeviceEvent['type']; detail: string }[];
    return rows.map((r) => ({ time: new Date(r.time).toISOString(), type: r.type, ...(JSON.parse(r.detail) as object) }));
  }

  async #event(deviceId: string, at: number, event: Omit<DeviceEvent, 'time'>): Promise<void> {
    const { type, ...detail } = event;
    await this.#s.event.run(at, type, JSON.stringify(detail), deviceId);
  }
}
