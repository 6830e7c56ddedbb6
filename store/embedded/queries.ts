import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Database, Statement } from 'better-sqlite3';
import { type Scope, scopeCondition, type ScopeColumns } from '../../core/index.js';
import { Aggregator, pickRow } from '../aggregate.js';
import { latestRow } from '../latest.js';
import {
  QueryTimeExceeded,
  type AggregateQuery,
  type LatestQuery,
  type LatestRow,
  type Position,
  type RawQuery,
  type Selection,
  type SeriesRow,
} from '../types.js';

/** Rows read in one synchronous step. Small enough that a step takes a few ms, so reads never hold up the event loop for long. */
const SLICE_ROWS = 2000;
const COLUMNS: ScopeColumns = { company: 'company_id', testbed: 'testbed_id', pilot: 'pilot_id' };

interface Row {
  device_id: string;
  time: number;
  vals: string;
  suspect: string | null;
  stuck: string | null;
  gap: number | null;
}
const toRow = (r: Row): SeriesRow => {
  const row = { deviceId: r.device_id, time: r.time, values: JSON.parse(r.vals) as Record<string, number> };
  // The quality flags: measurement names, comma-separated, NULL when none; gap 1 or NULL.
  if (r.suspect === null && r.stuck === null && r.gap === null) return row;
  return {
    ...row,
    ...(r.suspect === null ? {} : { suspect: r.suspect.split(',') }),
    ...(r.stuck === null ? {} : { stuck: r.stuck.split(',') }),
    ...(r.gap === 1 ? { gap: true } : {}),
  };
};

/**
 * The embedded store's queries, on its read-only connection. Every query is a
 * keyset scan in (time, device_id) order (the primary key serves a device,
 * `readings_pilot_time` a pilot: in a WITHOUT ROWID table an index ends with
 * the primary key, so it is ordered by (pilot_id, time, device_id)). A scan
 * reads a slice, yields to the event loop, and resumes after the last row, so
 * no statement stays open between slices and a long query can be stopped at
 * its deadline.
 */
export class EmbeddedQueries {
  readonly #db: Database;
  readonly #cache = new Map<string, Statement>();

  constructor(db: Database) {
    this.#db = db;
  }

  /** Raw readings: scans until `limit` rows match, in (time, deviceId) order. */
  async raw(scope: Scope, q: RawQuery): Promise<SeriesRow[]> {
    const out: SeriesRow[] = [];
    if (q.limit < 1) return out;
    for await (const slice of this.#scan(scope, q.select, q.from, q.to, q.after, q.deadline)) {
      for (const row of slice) {
        const picked = pickRow(row, q.measurements);
        if (picked === undefined) continue;
        out.push(picked);
        if (out.length === q.limit) return out;
      }
    }
    return out;
  }

  /** Windowed aggregates, computed while scanning in time order: memory is one window's accumulators. */
  async aggregate(scope: Scope, q: AggregateQuery): Promise<SeriesRow[]> {
    const agg = new Aggregator(q.fn, q.every, q.measurements);
    for await (const slice of this.#scan(scope, q.select, q.from, q.to, undefined, q.deadline)) {
      for (const row of slice) agg.add(row);
    }
    return agg.finish();
  }

  /** The newest value of each measurement of each device: one indexed lookup per device in the `latest` table. */
  async latest(scope: Scope, q: LatestQuery): Promise<LatestRow[]> {
    const condition = scopeCondition(scope, COLUMNS);
    const stmt = this.#statement(
      `latest:${scope.kind}`,
      () => `SELECT measurement, time, value, suspect FROM latest WHERE device_id = ? AND pilot_id = ? AND (${condition.sql})`,
    );
    const out: LatestRow[] = [];
    for (const deviceId of [...new Set(q.deviceIds)].sort()) {
      const found = stmt.all(deviceId, q.pilotId, ...condition.params) as { measurement: string; time: number; value: number; suspect: number }[];
      const row = latestRow(
        deviceId,
        found.map((f) => ({ ...f, suspect: f.suspect === 1 })),
        q.measurements,
      );
      if (row !== undefined) out.push(row);
    }
    return out;
  }

  /** Slices of the readings in [from, to) after `after`, in (time, device_id) order, within the scope. */
  async *#scan(scope: Scope, select: Selection, from: number, to: number, after: Position | undefined, deadline: number): AsyncGenerator<SeriesRow[]> {
    const condition = scopeCondition(scope, COLUMNS);
    const target = select.kind === 'device' ? 'device_id' : 'pilot_id';
    const stmt = this.#statement(
      `scan:${select.kind}:${scope.kind}`,
      () =>
        `SELECT device_id, time, vals, suspect, stuck, gap FROM readings
       WHERE ${target} = ? AND (${condition.sql}) AND time >= ? AND time < ? AND (time, device_id) > (?, ?)
       ORDER BY time, device_id LIMIT ?`,
    );
    const id = select.kind === 'device' ? select.deviceId : select.pilotId;
    // Before the first row: any device id is > '' at time from - 1.
    let position = after ?? { time: from - 1, deviceId: '' };
    for (;;) {
      // The lower time bound is the position's, not `from`: it is where the index range starts.
      const lower = Math.max(from, position.time);
      const rows = stmt.all(id, ...condition.params, lower, to, position.time, position.deviceId, SLICE_ROWS) as Row[];
      if (rows.length > 0) yield rows.map(toRow);
      if (rows.length < SLICE_ROWS) return;
      const last = rows[rows.length - 1] as Row;
      position = { time: last.time, deviceId: last.device_id };
      await nextTurn();
      if (Date.now() > deadline) throw new QueryTimeExceeded();
    }
  }

  #statement(key: string, sql: () => string): Statement {
    let stmt = this.#cache.get(key);
    if (!stmt) {
      stmt = this.#db.prepare(sql());
      this.#cache.set(key, stmt);
    }
    return stmt;
  }
}
