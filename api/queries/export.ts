import { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import { isoTime } from '../../core/index.js';
import type { LatestRow, SeriesRow } from '../../store/index.js';
import { csvLine } from '../csv.js';
import { csvTermsLine, notedTerms, termsFields, type OpenDataTerms } from '../open-data.js';
import { headerOf, type Column } from './columns.js';

export type ExportFormat = 'csv' | 'ndjson';

/**
 * A row's values with the measurements in name order. Stores return them in
 * their own order (InfluxDB: alphabetical columns; the embedded store: as
 * published); answers are the same, byte for byte, whichever store is behind them.
 */
export function inOrder<T>(values: Readonly<Record<string, T>>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const name of Object.keys(values).sort()) out[name] = values[name] as T;
  return out;
}

/** The quality flags as the JSON answers carry them: each only when raised. */
export const flagOf = (r: SeriesRow): { suspect?: string[]; stuck?: string[]; gap?: true } => ({
  ...(r.suspect && r.suspect.length > 0 ? { suspect: [...r.suspect] } : {}),
  ...(r.stuck && r.stuck.length > 0 ? { stuck: [...r.stuck] } : {}),
  ...(r.gap === true ? { gap: true as const } : {}),
});

/** The time of each of a latest row's values, as ISO times in name order. */
export const timesOf = (r: LatestRow): Record<string, string> => inOrder(Object.fromEntries(Object.entries(r.times).map(([m, t]) => [m, isoTime(t)])));

/** What a row says beyond its values: each value's time (latest), the quality flag. */
const extras = (r: SeriesRow | LatestRow) => ({ ...('times' in r ? { times: timesOf(r) } : {}), ...flagOf(r) });

/**
 * What the rows hold: readings (with the quality flags), the latest values (with
 * `suspect` only: a value's stuck and gap flags are its reading's, not kept per
 * measurement) or aggregates (without: a window has no flag).
 */
export type ExportKind = 'readings' | 'latest' | 'aggregates';

/**
 * A latest row as CSV rows, one per distinct time: a CSV row is one instant, so
 * values that came from different readings go on rows of their own.
 */
function byTime(r: SeriesRow | LatestRow): SeriesRow[] {
  if (!('times' in r)) return [r];
  const rows = new Map<number, { values: Record<string, number>; suspect: string[] }>();
  for (const [m, t] of Object.entries(r.times)) {
    const row = rows.get(t) ?? { values: {}, suspect: [] };
    rows.set(t, row);
    row.values[m] = r.values[m] as number;
    if (r.suspect?.includes(m)) row.suspect.push(m);
  }
  return [...rows]
    .sort(([a], [b]) => a - b)
    .map(([time, { values, suspect }]) => ({ deviceId: r.deviceId, time, values, ...(suspect.length > 0 ? { suspect } : {}) }));
}

/**
 * CSV lines of a row: time, device, a cell per column (empty where the row has
 * no value), then for readings the quality flags: `suspect` and `stuck`, the
 * flagged measurements space-separated, empty when none; `gap`, `true` or empty.
 */
const FLAG_COLUMNS: Record<ExportKind, string[]> = { readings: ['suspect', 'stuck', 'gap'], latest: ['suspect'], aggregates: [] };
const flagCells = (row: SeriesRow, kind: ExportKind): string[] =>
  [row.suspect?.join(' ') ?? '', row.stuck?.join(' ') ?? '', row.gap === true ? 'true' : ''].slice(0, FLAG_COLUMNS[kind].length);
const csvRows =
  (columns: readonly Column[], kind: ExportKind) =>
  (r: SeriesRow): string =>
    byTime(r)
      .map((row) => csvLine([isoTime(row.time), row.deviceId, ...columns.map((c) => row.values[c.name]), ...flagCells(row, kind)]))
      .join('');
/** An NDJSON line; an open pilot's rows each carry its licence, licence URL, attribution and citation, so a line keeps its terms wherever it goes. */
const ndjsonRow =
  (terms: OpenDataTerms | undefined) =>
  (r: SeriesRow): string =>
    `${JSON.stringify({ time: isoTime(r.time), deviceId: r.deviceId, values: inOrder(r.values), ...extras(r), ...(terms ? termsFields(terms) : {}) })}\n`;

async function* encode(
  format: ExportFormat,
  kind: ExportKind,
  columns: readonly Column[],
  first: readonly SeriesRow[],
  rest: AsyncIterable<readonly SeriesRow[]>,
  terms: OpenDataTerms | undefined,
): AsyncGenerator<string> {
  const line = format === 'csv' ? csvRows(columns, kind) : ndjsonRow(terms);
  if (format === 'csv' && terms) yield csvTermsLine(terms);
  if (format === 'csv') yield csvLine(['time', 'deviceId', ...columns.map(headerOf), ...FLAG_COLUMNS[kind]]);
  if (first.length > 0) yield first.map(line).join('');
  for await (const rows of rest) if (rows.length > 0) yield rows.map(line).join('');
}

/**
 * Sends rows as a CSV or NDJSON download, streamed: the next page is read from
 * the store only when the client has taken the last, so memory stays one page
 * whatever the range. `first` was read before answering, so a failure to start
 * is an ordinary error answer; a failure later cuts the download short (the
 * connection is closed without the last chunk, so the client sees it fail).
 */
export function sendExport(
  reply: FastifyReply,
  format: ExportFormat,
  kind: ExportKind,
  filename: string,
  columns: readonly Column[],
  first: readonly SeriesRow[],
  rest: AsyncIterable<readonly SeriesRow[]>,
) {
  // An open pilot's CSV opens with a `#` line of its terms before the header row.
  const type = format === 'csv' ? 'text/csv; charset=utf-8; header=present' : 'application/x-ndjson; charset=utf-8';
  return reply
    .header('content-type', type)
    .header('content-disposition', `attachment; filename="${filename.replace(/[^\w.-]/g, '_')}.${format}"`)
    .header('cache-control', 'no-store')
    .send(Readable.from(encode(format, kind, columns, first, rest, notedTerms(reply.request)), { objectMode: false }));
}
