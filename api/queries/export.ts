import { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import type { SeriesRow } from '../../store/index.js';
import { csvLine } from '../csv.js';

export type ExportFormat = 'csv' | 'ndjson';

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * A row's values with the measurements in name order. Stores return them in
 * their own order (InfluxDB: alphabetical columns; the embedded store: as
 * published); answers are the same, byte for byte, whichever store is behind them.
 */
export function inOrder(values: Readonly<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of Object.keys(values).sort()) out[name] = values[name] as number;
  return out;
}

/** One row as a CSV line: time, device, then a cell per column (empty where the row has no value). */
const csvRow =
  (columns: readonly string[]) =>
  (r: SeriesRow): string =>
    csvLine([iso(r.time), r.deviceId, ...columns.map((c) => r.values[c])]);
const ndjsonRow = (r: SeriesRow): string => `${JSON.stringify({ time: iso(r.time), deviceId: r.deviceId, values: inOrder(r.values) })}\n`;

async function* encode(
  format: ExportFormat,
  columns: readonly string[],
  first: readonly SeriesRow[],
  rest: AsyncIterable<readonly SeriesRow[]>,
): AsyncGenerator<string> {
  const line = format === 'csv' ? csvRow(columns) : ndjsonRow;
  if (format === 'csv') yield csvLine(['time', 'deviceId', ...columns]);
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
  filename: string,
  columns: readonly string[],
  first: readonly SeriesRow[],
  rest: AsyncIterable<readonly SeriesRow[]>,
) {
  const type = format === 'csv' ? 'text/csv; charset=utf-8; header=present' : 'application/x-ndjson; charset=utf-8';
  return reply
    .header('content-type', type)
    .header('content-disposition', `attachment; filename="${filename.replace(/[^\w.-]/g, '_')}.${format}"`)
    .header('cache-control', 'no-store')
    .send(Readable.from(encode(format, columns, first, rest), { objectMode: false }));
}
