import type { FastifyReply } from 'fastify';
import { isoTime, type Caller, type Device } from '../../core/index.js';
import type { Position, Selection, SeriesRow } from '../../store/index.js';
import type { RouteOptions } from '../deps.js';
import { DEFAULT_QUERY_LIMIT, EXPORT_PAGE_ROWS } from '../limits.js';
import type { RawQueryParams } from '../schemas/queries.js';
import { measurementColumns } from './columns.js';
import { flagOf, inOrder, sendExport } from './export.js';
import { defaultRange } from './range.js';
import { timedRead } from './read.js';

const positionOf = (r: SeriesRow): Position => ({ time: r.time, deviceId: r.deviceId });

/**
 * Raw readings of a device or a pilot: a page of JSON with a `next` cursor
 * while more remain, or the whole range (or `limit` rows) exported.
 */
export async function answerRaw(
  { deps, limits, cursors }: RouteOptions,
  caller: Caller,
  reply: FastifyReply,
  select: Selection,
  devices: readonly Device[],
  params: RawQueryParams,
) {
  const measurements = params.measurements;
  const columns = measurementColumns(deps.profiles, devices, measurements);
  // The cursor is bound to what the query is, not to how much of it a page holds or how it is encoded.
  const query = JSON.stringify(['raw', select, params.from ?? null, params.to ?? null, measurements ?? null]);
  const after = params.cursor === undefined ? undefined : cursors.decode(params.cursor, caller.keyId, query);
  const base = { select, ...defaultRange(params), measurements };
  const page = (from: Position | undefined, limit: number) =>
    timedRead(limits, (deadline) => deps.readings.queryRaw(caller.scope, { ...base, after: from, limit, deadline }));

  if (params.format === 'json') {
    const limit = params.limit ?? DEFAULT_QUERY_LIMIT;
    const rows = await page(after, limit + 1);
    const more = rows.length > limit;
    const shown = more ? rows.slice(0, limit) : rows;
    const readings = shown.map((r) =>
      select.kind === 'device'
        ? { time: isoTime(r.time), values: inOrder(r.values), ...flagOf(r) }
        : { deviceId: r.deviceId, time: isoTime(r.time), values: inOrder(r.values), ...flagOf(r) },
    );
    const last = shown.at(-1);
    return reply.send(more && last ? { readings, next: cursors.encode(caller.keyId, query, positionOf(last)) } : { readings });
  }

  let remaining = params.limit ?? Number.POSITIVE_INFINITY;
  const first = await page(after, Math.min(EXPORT_PAGE_ROWS, remaining));
  remaining -= first.length;
  async function* rest(): AsyncGenerator<SeriesRow[]> {
    let last = first.at(-1);
    let full = first.length === EXPORT_PAGE_ROWS;
    while (full && last && remaining > 0) {
      const rows = await page(positionOf(last), Math.min(EXPORT_PAGE_ROWS, remaining));
      remaining -= rows.length;
      full = rows.length === EXPORT_PAGE_ROWS;
      last = rows.at(-1);
      yield rows;
    }
  }
  const name = select.kind === 'device' ? `${select.deviceId}-readings` : `${select.pilotId}-readings`;
  return sendExport(reply, params.format, 'readings', name, columns, first, rest());
}
