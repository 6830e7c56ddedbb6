import type { FastifyReply } from 'fastify';
import { TestbedError, isoTime, type Caller, type Device } from '../../core/index.js';
import type { Selection, SeriesRow } from '../../store/index.js';
import type { RouteOptions } from '../deps.js';
import { EXPORT_PAGE_ROWS } from '../limits.js';
import type { AggregateQueryParams } from '../schemas/queries.js';
import { measurementColumns } from './columns.js';
import { inOrder, sendExport } from './export.js';
import { defaultRange } from './range.js';
import { aggregateRounding } from './rounding.js';
import { timedRead } from './read.js';

const UNITS: [string, number][] = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
];
/** `every` as written: the largest unit that divides it. */
export const durationText = (ms: number): string => {
  const [unit, size] = UNITS.find(([, size]) => ms % size === 0) ?? ['s', 1000];
  return `${ms / size}${unit}`;
};
const NICE = [60_000, 300_000, 900_000, 3_600_000, 21_600_000, 86_400_000, 604_800_000];
/** The smallest common window at least `ms` long, for a message. */
const suggest = (ms: number): string => durationText(NICE.find((n) => n >= ms) ?? Math.ceil(ms / 86_400_000) * 86_400_000);

const limitExceeded = (message: string, limit: string, value: number) => new TestbedError('TESTBED_LIMIT_EXCEEDED', message, { limit, value });

/** The time of the first reading of the selection before `to`, if there is one. */
async function firstReading({ deps, limits }: RouteOptions, caller: Caller, select: Selection, to: number): Promise<number | undefined> {
  const [first] = await timedRead(limits, (deadline) => deps.readings.queryRaw(caller.scope, { select, from: 0, to, limit: 1, deadline }));
  return first?.time;
}

/**
 * Windowed aggregates of a device or a pilot. `from` and `to` are widened to
 * whole windows; without them, the range is from the first reading up to now.
 * Values are rounded to their measurement's resolution (see rounding.ts). A JSON answer is held to `maxWindows` windows and
 * `maxAggregateRows` rows; an export streams a slice of windows at a time.
 */
export async function answerAggregate(
  options: RouteOptions,
  caller: Caller,
  reply: FastifyReply,
  select: Selection,
  devices: readonly Device[],
  params: AggregateQueryParams,
) {
  const { deps, limits } = options;
  const { every, fn, measurements } = params;
  // A count has no unit: it counts readings.
  const columns = measurementColumns(deps.profiles, devices, measurements).map((c) => (fn === 'count' ? { ...c, unit: undefined } : c));
  const round = aggregateRounding(deps.profiles, devices, fn);
  const range = defaultRange(params);
  // Without from: from the first reading in range, so that the windows start where the data does.
  const start = params.from ?? (await firstReading(options, caller, select, range.to)) ?? range.to;
  const from = Math.floor(start / every) * every;
  const to = Math.ceil(range.to / every) * every;
  const windows = (to - from) / every;
  const series = Math.max(1, devices.length);
  const tooMany = `every=${durationText(every)} over this range makes ${windows} windows`;
  const read = async (a: number, b: number) =>
    (await timedRead(limits, (deadline) => deps.readings.queryAggregate(caller.scope, { select, from: a, to: b, every, fn, measurements, deadline }))).map(
      round,
    );

  if (params.format === 'json') {
    if (windows > limits.maxWindows) {
      throw limitExceeded(
        `${tooMany}; an answer holds at most ${limits.maxWindows} (maxWindows): use every=${suggest((to - from) / limits.maxWindows)} or more, ` +
          `a shorter range, or format=csv or format=ndjson (up to ${limits.maxExportWindows} windows)`,
        'maxWindows',
        limits.maxWindows,
      );
    }
    if (windows * series > limits.maxAggregateRows) {
      throw limitExceeded(
        `${tooMany} for each of ${series} devices; an answer holds at most ${limits.maxAggregateRows} rows (maxAggregateRows): use a larger every, ` +
          'a shorter range, a single device, or format=csv or format=ndjson',
        'maxAggregateRows',
        limits.maxAggregateRows,
      );
    }
    const rows = await read(from, to);
    return reply.send({
      every: durationText(every),
      fn,
      aggregates: rows.map((r) => ({ deviceId: r.deviceId, time: isoTime(r.time), values: inOrder(r.values) })),
    });
  }

  if (windows > limits.maxExportWindows) {
    throw limitExceeded(
      `${tooMany}; an export holds at most ${limits.maxExportWindows} (maxExportWindows): use every=${suggest((to - from) / limits.maxExportWindows)} or more, or a shorter range`,
      'maxExportWindows',
      limits.maxExportWindows,
    );
  }
  // About a page of rows per store query, whatever the number of devices.
  const step = Math.max(1, Math.floor(EXPORT_PAGE_ROWS / series)) * every;
  const first = await read(from, Math.min(to, from + step));
  async function* rest(): AsyncGenerator<SeriesRow[]> {
    for (let a = from + step; a < to; a += step) yield await read(a, Math.min(to, a + step));
  }
  const name = `${select.kind === 'device' ? select.deviceId : select.pilotId}-${fn}-${durationText(every)}`;
  return sendExport(reply, params.format, 'aggregates', name, columns, first, rest());
}
