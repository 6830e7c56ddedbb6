import type { DeviceEvent, DeviceStatus } from '../core/index.js';
import type { Database, Statement } from './sql/database.js';

/** One device's activity in a batch, as the health table folds it in. */
export interface ActivityRow {
  readonly id: string;
  readonly at: number;
  readonly late: number;
  readonly silent: number;
  readonly battery: number | null;
  readonly low: number | null;
  readonly signal: number | null;
}

/** One connection change in a batch. */
export interface ConnectionRow {
  readonly id: string;
  readonly at: number;
  /** 1 when connected (or still connected through another connection), 0 when not. */
  readonly online: number;
  readonly reason: string | null;
  /** 1: a connection opened (`connect`); 0: one closed (`disconnect`). */
  readonly opened: number;
}

/** An event to record, with its device and time. */
export interface EventRow {
  readonly deviceId: string;
  readonly at: number;
  readonly event: Omit<DeviceEvent, 'time'>;
}

/** A device whose status was not `ok` before the batch, with its placement. */
export interface NotOk {
  readonly device_id: string;
  readonly status: DeviceStatus;
  readonly company_id: string;
  readonly testbed_id: string;
  readonly pilot_id: string;
}

/** The row's own column, named with its table: on PostgreSQL the batch's columns (`u.`) carry the same names. */
const own = (column: string) => `device_health.${column}`;
const KEEP_LATEST = (column: string, value: string) => `CASE WHEN coalesce(${own(column)}, 0) > ${value} THEN ${own(column)} ELSE ${value} END`;
const ACTIVITY_SET = (v: (name: string) => string) =>
  `last_reading_at = ${KEEP_LATEST('last_reading_at', v('at'))}, last_seen = ${KEEP_LATEST('last_seen', v('at'))},
   late_ms = ${v('late')}, silent_ms = ${v('silent')}, status = 'ok',
   battery = coalesce(${v('battery')}, ${own('battery')}), battery_low = coalesce(${v('low')}, ${own('battery_low')}),
   signal = coalesce(${v('signal')}, ${own('signal')})`;
const CONNECTION_SET = (v: (name: string) => string) =>
  `online = ${v('online')}, last_seen = ${KEEP_LATEST('last_seen', v('at'))},
   last_connected_at = CASE WHEN ${v('opened')} = 1 THEN ${v('at')} ELSE ${own('last_connected_at')} END,
   last_disconnected_at = CASE WHEN ${v('opened')} = 1 THEN ${own('last_disconnected_at')} ELSE ${v('at')} END,
   disconnect_reason = CASE WHEN ${v('opened')} = 1 THEN ${own('disconnect_reason')} ELSE ${v('reason')} END`;

/**
 * The health stage's batch writes, a batch at a time rather than a device at a
 * time: the rows made in one statement, the statuses read in one, the rows'
 * updates and the events one each (the batch bound as one JSON array, see
 * `recordset`). On PostgreSQL each statement is a round trip; on SQLite each
 * is an await during which every other registry query waits its turn.
 */
export class HealthBatchWriter {
  readonly #ensure: Statement;
  readonly #notOk: Statement;
  readonly #activity: Statement;
  readonly #connection: Statement;
  readonly #event: Statement;

  constructor(db: Database) {
    this.#ensure = db.prepare(
      'INSERT INTO device_health (device_id) SELECT id FROM devices WHERE id IN (SELECT value FROM json_each(?)) ON CONFLICT (device_id) DO NOTHING',
    );
    this.#notOk = db.prepare(
      `SELECT h.device_id, h.status, d.company_id, d.testbed_id, d.pilot_id FROM device_health h JOIN devices d ON d.id = h.device_id
       WHERE h.device_id IN (SELECT value FROM json_each(?)) AND h.status <> 'ok'`,
    );
    const u = (name: string) => `u.${name}`;
    const rows = (columns: Record<string, string>) => recordset(db.dialect, columns);
    this.#activity = db.prepare(
      `UPDATE device_health SET ${ACTIVITY_SET(u)}
       FROM ${rows({ id: 'text', at: 'bigint', late: 'bigint', silent: 'bigint', battery: 'float8', low: 'bigint', signal: 'float8' })}
       WHERE device_health.device_id = u.id`,
    );
    this.#connection = db.prepare(
      `UPDATE device_health SET ${CONNECTION_SET(u)}
       FROM ${rows({ id: 'text', at: 'bigint', online: 'bigint', reason: 'text', opened: 'bigint' })}
       WHERE device_health.device_id = u.id`,
    );
    this.#event = db.prepare(
      `INSERT INTO device_events (device_id, time, type, detail)
       SELECT u.id, u.at, u.type, u.detail FROM ${rows({ id: 'text', at: 'bigint', type: 'text', detail: 'text' })}
       WHERE EXISTS (SELECT 1 FROM devices WHERE devices.id = u.id)`,
    );
  }

  /** Makes the health rows of these devices that have none (a device that no longer exists gets none). */
  async ensure(deviceIds: readonly string[]): Promise<void> {
    await this.#ensure.run(JSON.stringify(deviceIds));
  }

  /** Those of these devices whose status is not `ok`, with their placement. */
  async notOk(deviceIds: readonly string[]): Promise<NotOk[]> {
    return (await this.#notOk.all(JSON.stringify(deviceIds))) as NotOk[];
  }

  async activity(rows: readonly ActivityRow[]): Promise<void> {
    await this.#each(this.#activity, rows);
  }

  async connections(rows: readonly ConnectionRow[]): Promise<void> {
    await this.#each(this.#connection, rows);
  }

  async events(events: readonly EventRow[]): Promise<void> {
    const rows = events.map(({ deviceId, at, event }) => {
      const { type, ...detail } = event;
      return { id: deviceId, at, type, detail: JSON.stringify(detail) };
    });
    await this.#each(this.#event, rows);
  }

  /** In order, as they came, the whole batch as one JSON parameter: one statement, or a few when a device repeats. */
  async #each<T extends { readonly id: string }>(stmt: Statement, rows: readonly T[]): Promise<void> {
    // An UPDATE … FROM takes one row per target: a device twice in a batch (connected, then gone) goes in a later statement.
    for (const wave of waves(rows)) await stmt.run(JSON.stringify(wave));
  }
}

/**
 * A JSON array of objects bound as one parameter, as a table `u` with these
 * columns: `json_to_recordset` on PostgreSQL, `json_each` with `json_extract`
 * on SQLite.
 */
function recordset(dialect: Database['dialect'], columns: Record<string, string>): string {
  const names = Object.keys(columns);
  if (dialect === 'postgres') {
    return `json_to_recordset(CAST(? AS json)) AS u(${names.map((n) => `${n} ${columns[n]}`).join(', ')})`;
  }
  return `(SELECT ${names.map((n) => `json_extract(value, '$.${n}') AS ${n}`).join(', ')} FROM json_each(?)) AS u`;
}

/** The rows split, in order, into runs in which no device (`id`) comes twice; one run unless a device repeats. */
function waves<T extends { readonly id: string }>(rows: readonly T[]): T[][] {
  const out: T[][] = [];
  const last = new Map<string, number>();
  for (const row of rows) {
    const wave = (last.get(row.id) ?? -1) + 1;
    last.set(row.id, wave);
    (out[wave] ??= []).push(row);
  }
  return out;
}
