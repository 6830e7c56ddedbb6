import type { Scope } from '../../model.js';
import type { DeviceQuery, ReadingRow } from '../types.js';
import { MEASUREMENT, TAG_KEYS } from './line-protocol.js';

/**
 * Quotes text for InfluxQL. The scanner (influxql `ScanString`) knows the escapes
 * `\\` `\'` `\"` `\n` and rejects a bare line break, so those are all there is to
 * escape; nothing in an id can end the literal early and inject query text.
 */
function quote(text: string, mark: "'" | '"'): string {
  let out = mark;
  for (let i = 0; i < text.length; i++) {
    const c = text.charAt(i);
    if (c === '\\' || c === mark) out += '\\' + c;
    else if (c === '\n') out += '\\n';
    else out += c;
  }
  return out + mark;
}

/** An InfluxQL string literal: `'...'`. */
export const influxString = (text: string): string => quote(text, "'");

/** An InfluxQL identifier: `"..."`. */
export const influxIdent = (name: string): string => quote(name, '"');

/** InfluxDB keeps time as int64 nanoseconds; bounds outside that range are clamped to it. */
const MAX_MS = 9_223_372_036_854;
const msLiteral = (ms: number): string => `${Math.max(-MAX_MS, Math.min(MAX_MS, Math.trunc(ms)))}ms`;

/**
 * The InfluxQL for `queryReadings`. The scope's company becomes a condition in the
 * query itself, so a company never receives another company's rows. Callers check
 * `limit >= 1` first: `LIMIT 0` means "no limit" in InfluxQL.
 */
export function readingsQuery(scope: Scope, q: DeviceQuery): string {
  let where = `"device" = ${influxString(q.deviceId)}`;
  if (scope.kind === 'company') where += ` AND "company" = ${influxString(scope.companyId)}`;
  if (q.from !== undefined) where += ` AND time >= ${msLiteral(q.from)}`;
  if (q.to !== undefined) where += ` AND time < ${msLiteral(q.to)}`;
  return `SELECT * FROM ${influxIdent(MEASUREMENT)} WHERE ${where} ORDER BY time ASC LIMIT ${Math.trunc(q.limit)}`;
}

interface Series {
  readonly columns?: readonly string[];
  readonly values?: readonly (readonly unknown[])[];
}
interface StatementResult {
  readonly error?: string;
  readonly series?: readonly Series[];
}
/** The JSON of `GET /query`: `{"results":[{"statement_id":0,"series":[...]}]}` or `{"error":"..."}`. */
export interface QueryResponse {
  readonly error?: string;
  readonly results?: readonly StatementResult[];
}

/** The first statement's result, or the error InfluxDB reported for the request or the statement. */
export function firstResult(body: QueryResponse): StatementResult {
  if (typeof body.error === 'string') throw new Error(body.error);
  const result = body.results?.[0];
  if (!result) throw new Error('the response holds no result');
  if (typeof result.error === 'string') throw new Error(result.error);
  return result;
}

const tagColumns: ReadonlySet<string> = new Set(TAG_KEYS);

/**
 * Rows of a `readingsQuery` answer (with `epoch=ms`), oldest first. Tag columns
 * are dropped, and so are the null cells `SELECT *` gives for fields a row lacks.
 * Without GROUP BY, InfluxDB answers with one series, already in time order.
 */
export function toReadingRows(body: QueryResponse): ReadingRow[] {
  const series = firstResult(body).series ?? [];
  const rows: ReadingRow[] = [];
  for (const s of series) {
    const columns = s.columns ?? [];
    const timeAt = columns.indexOf('time');
    for (const row of s.values ?? []) {
      const values: Record<string, number> = {};
      for (let i = 0; i < columns.length; i++) {
        const cell = row[i];
        const name = columns[i] as string;
        if (i !== timeAt && typeof cell === 'number' && !tagColumns.has(name)) values[name] = cell;
      }
      rows.push({ time: row[timeAt] as number, values });
    }
  }
  return rows;
}
