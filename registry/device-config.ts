import type { Database, Statement } from './sql/database.js';
import { configDelta, type ConfigDocument, type DesiredConfigChange, type DeviceConfig } from '../core/index.js';

const iso = (ms: number): string => new Date(ms).toISOString();

interface ConfigRow {
  device_id: string;
  desired: string | null;
  desired_version: number;
  desired_at: number | null;
  desired_by: string | null;
  reported: string | null;
  reported_version: number | null;
  reported_at: number | null;
}

function toConfig(deviceId: string, r: ConfigRow | undefined): DeviceConfig {
  const desired = r?.desired == null ? undefined : (JSON.parse(r.desired) as ConfigDocument);
  const reported = r?.reported == null ? undefined : (JSON.parse(r.reported) as ConfigDocument);
  const delta = configDelta(desired, reported);
  return {
    deviceId,
    desired: desired && r ? { version: r.desired_version, config: desired, updatedAt: iso(r.desired_at ?? 0), updatedBy: r.desired_by ?? '' } : null,
    reported: reported && r ? { config: reported, version: r.reported_version, at: iso(r.reported_at ?? 0) } : null,
    delta,
    inSync: Object.keys(delta).length === 0,
  };
}

/**
 * Devices' desired and reported configuration, one row per device. The API's
 * calls take a device already found in the caller's scope; the gateway's the
 * device of the connection.
 */
export class DeviceConfigTable {
  readonly #now: () => number;
  readonly #stmts: Record<'get' | 'setDesired' | 'setReported' | 'since' | 'intervals', Statement>;

  constructor(db: Database, now: () => number) {
    this.#now = now;
    this.#stmts = {
      get: db.prepare('SELECT * FROM device_config WHERE device_id = ?'),
      setDesired: db.prepare(
        `INSERT INTO device_config (device_id, desired, desired_version, desired_at, desired_by) VALUES (?, ?, 1, ?, ?)
         ON CONFLICT (device_id) DO UPDATE SET desired = excluded.desired, desired_version = device_config.desired_version + 1,
           desired_at = excluded.desired_at, desired_by = excluded.desired_by`,
      ),
      setReported: db.prepare(
        `INSERT INTO device_config (device_id, reported, reported_version, reported_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (device_id) DO UPDATE SET reported = excluded.reported, reported_version = excluded.reported_version,
           reported_at = excluded.reported_at`,
      ),
      intervals: db.prepare('SELECT device_id, reported FROM device_config WHERE reported IS NOT NULL'),
      since: db.prepare('SELECT * FROM device_config WHERE desired IS NOT NULL AND desired_at >= ? ORDER BY desired_at, device_id'),
    };
  }

  async get(deviceId: string): Promise<DeviceConfig> {
    return toConfig(deviceId, (await this.#stmts.get.get(deviceId)) as ConfigRow | undefined);
  }

  /** Replaces the desired document; its version grows by one. */
  async setDesired(deviceId: string, config: ConfigDocument, by: string): Promise<DeviceConfig> {
    await this.#stmts.setDesired.run(deviceId, JSON.stringify(config), this.#now(), by);
    return this.get(deviceId);
  }

  /** Records the device's report: its whole configuration, and the desired version it applied (null when it did not say). */
  async setReported(deviceId: string, config: ConfigDocument, version: number | null): Promise<DeviceConfig> {
    await this.#stmts.setReported.run(deviceId, JSON.stringify(config), version, this.#now());
    return this.get(deviceId);
  }

  /** The `reportingIntervalSeconds` each device last reported, for those that did. */
  async reportedIntervals(): Promise<Map<string, number>> {
    const intervals = new Map<string, number>();
    for (const r of (await this.#stmts.intervals.all()) as { device_id: string; reported: string }[]) {
      const seconds = reportedInterval(r.reported);
      if (seconds !== null) intervals.set(r.device_id, seconds);
    }
    return intervals;
  }

  /** Desired documents set at or after `since` (epoch ms), oldest first. */
  async desiredSince(since: number): Promise<DesiredConfigChange[]> {
    return ((await this.#stmts.since.all(since)) as ConfigRow[]).map((r) => ({
      deviceId: r.device_id,
      message: { version: r.desired_version, config: JSON.parse(r.desired!) as ConfigDocument },
      updatedAt: r.desired_at!,
    }));
  }
}

/**
 * The `reportingIntervalSeconds` of a reported configuration document, when it
 * is a number. Read here rather than in SQL, whose JSON functions SQLite and
 * PostgreSQL spell differently.
 */
export function reportedInterval(reported: string | null): number | null {
  if (reported === null) return null;
  const seconds: unknown = (JSON.parse(reported) as Record<string, unknown>).reportingIntervalSeconds;
  return typeof seconds === 'number' ? seconds : null;
}
