import type { Scope } from '../../core/index.js';
import { pick, pickRow } from '../aggregate.js';
import { latestRow, type LatestValue } from '../latest.js';
import type { AggregateFunction, AggregateQuery, LatestQuery, LatestRow, Position, RawQuery, SeriesRow } from '../types.js';
import { firstResult, influxIdent, influxString, resultAt, timeIs, whereOf, type QueryResponse } from './influxql.js';
import { FLAG_FIELDS, GAP_FIELD, MEASUREMENT, STUCK_FIELD, SUSPECT_FIELD, TAG_KEYS } from './line-protocol.js';
import { query, type InfluxServer } from './server.js';

const FROM = influxIdent(MEASUREMENT);
const tagColumns: ReadonlySet<string> = new Set(TAG_KEYS);
/** Devices named in one `latest` query; a larger pilot takes several. */
const LATEST_DEVICES_PER_QUERY = 200;
/** Windows per device in one aggregate request; a longer range takes several, each checked against the deadline. */
const WINDOWS_PER_QUERY = 5000;

const byTimeThenDevice = (a: SeriesRow, b: SeriesRow): number => a.time - b.time || (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0);

/**
 * Rows of an InfluxQL answer (with `epoch=ms`). The device comes from the
 * `device` column (raw queries) or the series' tags (GROUP BY "device"); other
 * tag columns are dropped, and so are null cells. `rename` maps a column to a
 * measurement name (aggregates call theirs `mean_pm25`).
 */
export function toSeriesRows(body: QueryResponse, rename: (column: string) => string = (c) => c): SeriesRow[] {
  const rows: SeriesRow[] = [];
  for (const s of firstResult(body).series ?? []) {
    const columns = s.columns ?? [];
    const timeAt = columns.indexOf('time');
    const deviceAt = columns.indexOf('device');
    for (const cells of s.values ?? []) {
      const values: Record<string, number> = {};
      let any = false;
      const flags: Flags = {};
      for (let i = 0; i < columns.length; i++) {
        const cell = cells[i];
        const name = columns[i] as string;
        if (FLAG_FIELDS.has(name)) readFlag(flags, name, cell);
        else if (i !== timeAt && typeof cell === 'number' && !tagColumns.has(name) && !FLAG_FIELDS.has(rename(name))) {
          // (count(*) counts the flags too, as count_suspect and so on: not measurements)
          values[rename(name)] = cell;
          any = true;
        }
      }
      const deviceId = deviceAt >= 0 ? (cells[deviceAt] as string) : (s.tags?.device ?? '');
      if (any) rows.push({ deviceId, time: cells[timeAt] as number, values, ...flags });
    }
  }
  return rows;
}

type Flags = { suspect?: string[]; stuck?: string[]; gap?: boolean };

/** One flag column's cell into `flags`: a list flag is a non-empty comma-separated string, `gap` is true. */
function readFlag(flags: Flags, name: string, cell: unknown): void {
  if (name === GAP_FIELD) {
    if (cell === true) flags.gap = true;
  } else if (typeof cell === 'string' && cell !== '') flags[name as 'suspect' | 'stuck'] = cell.split(',');
}

/** The field list of a raw query: every field, or the chosen ones (and the device tag, which `*` includes). */
const rawFields = (measurements: readonly string[] | undefined): string =>
  measurements === undefined ? '*' : ['"device"', ...measurements.map(influxIdent)].join(', ');

/** `fn(*)`, whose columns come back as `fn_<field>`, or `fn("m") AS "m"` for chosen measurements. */
function aggregateFields(fn: AggregateFunction, measurements: readonly string[] | undefined): string {
  if (measurements === undefined) return `${fn}(*)`;
  return measurements.map((m) => `${fn}(${influxIdent(m)}) AS ${influxIdent(m)}`).join(', ');
}

/**
 * The InfluxDB store's queries, in InfluxQL over `/query`. Each carries the
 * caller's scope as a condition (`whereOf`), so no answer holds rows outside it.
 */
export class InfluxReader {
  readonly #server: InfluxServer;

  constructor(server: InfluxServer) {
    this.#server = server;
  }

  /**
   * Raw readings in (time, device) order. InfluxDB orders points of different
   * series at the same instant in no documented way, so a page never ends inside
   * such a tie: the last instant of a full page and the cursor's instant are
   * read whole (`time = t`, at most one point per device) and ordered here.
   */
  async raw(scope: Scope, q: RawQuery): Promise<SeriesRow[]> {
    const where = whereOf(scope, q.select);
    if (where === null || q.limit < 1) return [];
    const fields = rawFields(q.measurements);
    const run = async (time: string, limit?: number): Promise<SeriesRow[]> => {
      const text = `SELECT ${fields} FROM ${FROM} WHERE ${where} AND ${time} ORDER BY time ASC${limit === undefined ? '' : ` LIMIT ${limit}`}`;
      return (await this.#query(text, q.deadline)).map((r) => ({ ...r, values: pick(r.values, q.measurements) ?? {} }));
    };
    const rows: SeriesRow[] = [];
    let start = timeIs('>=', q.from);
    const after: Position | undefined = q.after;
    if (after !== undefined && after.time >= q.from) {
      rows.push(...(await run(timeIs('=', after.time))).filter((r) => r.deviceId > after.deviceId));
      start = timeIs('>', after.time);
    }
    const page = await run(`${start} AND ${timeIs('<', q.to)}`, q.limit);
    const last = page.at(-1);
    if (page.length === q.limit && last !== undefined) {
      rows.push(...page.filter((r) => r.time < last.time));
      rows.push(...(await run(timeIs('=', last.time))));
    } else {
      rows.push(...page);
    }
    const result = rows.sort(byTimeThenDevice).slice(0, q.limit);
    return q.measurements === undefined ? result : this.#withFlags(where, result, q.measurements, q.deadline);
  }

  /**
   * The quality flags of rows read with chosen measurements. Selecting the flag
   * fields with them would return points that have only a flag and upset LIMIT,
   * so the flags of the page's span are read apart (they are rare) and joined.
   */
  async #withFlags(where: string, rows: SeriesRow[], measurements: readonly string[], deadline: number): Promise<SeriesRow[]> {
    const first = rows[0];
    const last = rows.at(-1);
    if (!first || !last) return rows;
    const fields = [SUSPECT_FIELD, STUCK_FIELD, GAP_FIELD].map(influxIdent).join(', ');
    const text = `SELECT "device", ${fields} FROM ${FROM} WHERE ${where} AND ${timeIs('>=', first.time)} AND time <= ${last.time}ms`;
    const body = await query(this.#server, text, { deadline });
    const flags = new Map<string, Flags>();
    for (const s of firstResult(body).series ?? []) {
      const columns = s.columns ?? [];
      const [t, d] = ['time', 'device'].map((c) => columns.indexOf(c)) as [number, number];
      for (const cells of s.values ?? []) {
        const found: Flags = {};
        columns.forEach((name, i) => FLAG_FIELDS.has(name) && readFlag(found, name, cells[i]));
        if (Object.keys(found).length > 0) flags.set(`${String(cells[t])}|${String(cells[d])}`, found);
      }
    }
    return rows.flatMap((r) => pickRow({ ...r, ...flags.get(`${r.time}|${r.deviceId}`) }, measurements) ?? []);
  }

  /** `GROUP BY time(every), "device" fill(none)`: windows aligned to the epoch, as the embedded store's. */
  async aggregate(scope: Scope, q: AggregateQuery): Promise<SeriesRow[]> {
    const where = whereOf(scope, q.select);
    if (where === null) return [];
    const prefix = `${q.fn}_`;
    const rename = q.measurements === undefined ? (c: string) => (c.startsWith(prefix) ? c.slice(prefix.length) : c) : undefined;
    const rows: SeriesRow[] = [];
    const step = q.every * WINDOWS_PER_QUERY;
    for (let from = q.from; from < q.to; from += step) {
      const to = Math.min(q.to, from + step);
      const text =
        `SELECT ${aggregateFields(q.fn, q.measurements)} FROM ${FROM} WHERE ${where} AND ${timeIs('>=', from)} AND ${timeIs('<', to)} ` +
        `GROUP BY time(${q.every}ms), "device" fill(none)`;
      for (const row of await this.#query(text, q.deadline, rename)) {
        // A count of a field a window lacks comes back as 0; the embedded store has no such value.
        const values = q.fn === 'count' ? Object.fromEntries(Object.entries(row.values).filter(([, v]) => v !== 0)) : row.values;
        if (Object.keys(values).length > 0) rows.push({ ...row, values });
      }
    }
    return rows.sort(byTimeThenDevice);
  }

  /**
   * Per device, the newest value of each measurement, each with its own time: one
   * `last("m")` per measurement (a lone selector gives its point's time, and the
   * flag field beside it comes from that same point). The measurements are the
   * chosen ones, or every float field the store has.
   */
  async latest(scope: Scope, q: LatestQuery): Promise<LatestRow[]> {
    const where = whereOf(scope, { kind: 'pilot', pilotId: q.pilotId });
    const devices = [...new Set(q.deviceIds)].sort();
    if (where === null || devices.length === 0) return [];
    const measurements = q.measurements ?? (await this.#fieldKeys());
    if (measurements.length === 0) return [];
    const found = new Map<string, LatestValue[]>();
    for (let i = 0; i < devices.length; i += LATEST_DEVICES_PER_QUERY) {
      const some = devices.slice(i, i + LATEST_DEVICES_PER_QUERY).map((d) => `"device" = ${influxString(d)}`);
      const statements = measurements.map(
        (m) =>
          `SELECT last(${influxIdent(m)}) AS ${influxIdent(m)}, ${influxIdent(SUSPECT_FIELD)} FROM ${FROM} WHERE ${where} AND (${some.join(' OR ')}) GROUP BY "device"`,
      );
      const body = await query(this.#server, statements.join('; '));
      measurements.forEach((measurement, n) => {
        for (const row of toSeriesRows({ results: [resultAt(body, n)] })) {
          const value = row.values[measurement];
          if (value === undefined) continue;
          const list = found.get(row.deviceId) ?? [];
          found.set(row.deviceId, list);
          list.push({ measurement, time: row.time, value, suspect: row.suspect?.includes(measurement) ?? false });
        }
      });
    }
    return [...found.keys()].sort().flatMap((d) => latestRow(d, found.get(d) ?? [], undefined) ?? []);
  }

  /** Every float field of the measurement: what a device can have measured (the flag is a string field). */
  async #fieldKeys(): Promise<string[]> {
    const series = firstResult(await query(this.#server, `SHOW FIELD KEYS FROM ${FROM}`)).series ?? [];
    return series.flatMap((s) => (s.values ?? []).filter((v) => v[1] === 'float').map((v) => String(v[0])));
  }

  async #query(text: string, deadline: number | undefined, rename?: (column: string) => string): Promise<SeriesRow[]> {
    return toSeriesRows(await query(this.#server, text, deadline === undefined ? {} : { deadline }), rename);
  }
}
