import type { AggregateFunction, SeriesRow } from './types.js';

/**
 * Windowed aggregation over rows that arrive in time order, for stores that
 * do not aggregate themselves (the embedded one). Sums run in time order, as
 * InfluxDB's reducers do, so both stores give the same floating-point results.
 */

/** `values` limited to `measurements` (all when undefined); undefined when none is left. */
export function pick(values: Readonly<Record<string, number>>, measurements: readonly string[] | undefined): Record<string, number> | undefined {
  if (measurements === undefined) return Object.keys(values).length > 0 ? (values as Record<string, number>) : undefined;
  let out: Record<string, number> | undefined;
  for (const m of measurements) {
    const v = values[m];
    if (v !== undefined) (out ??= {})[m] = v;
  }
  return out;
}

/**
 * A row limited to `measurements` (the row itself when undefined): its values
 * picked, and its quality flags kept only for the chosen measurements (`gap`,
 * which is the whole reading's, stays).
 * Undefined when the row has none of them.
 */
export function pickRow(row: SeriesRow, measurements: readonly string[] | undefined): SeriesRow | undefined {
  const values = pick(row.values, measurements);
  if (values === undefined) return undefined;
  if (measurements === undefined) return row;
  const { suspect: flagged, stuck: frozen, ...rest } = row;
  const suspect = flagged?.filter((m) => measurements.includes(m));
  const stuck = frozen?.filter((m) => measurements.includes(m));
  return {
    ...rest,
    values,
    ...(suspect !== undefined && suspect.length > 0 ? { suspect } : {}),
    ...(stuck !== undefined && stuck.length > 0 ? { stuck } : {}),
  };
}

interface Acc {
  count: number;
  sum: number;
  min: number;
  max: number;
  first: number;
  last: number;
}

function result(fn: AggregateFunction, a: Acc): number {
  switch (fn) {
    case 'mean':
      return a.sum / a.count;
    case 'sum':
      return a.sum;
    case 'count':
      return a.count;
    case 'min':
      return a.min;
    case 'max':
      return a.max;
    case 'first':
      return a.first;
    case 'last':
      return a.last;
  }
}

/** Accumulates one window at a time, per device and measurement; `add` rows in (time, device) order. */
export class Aggregator {
  readonly #fn: AggregateFunction;
  readonly #every: number;
  readonly #measurements: readonly string[] | undefined;
  readonly #out: SeriesRow[] = [];
  #window = Number.NaN;
  #acc = new Map<string, Map<string, Acc>>();

  constructor(fn: AggregateFunction, every: number, measurements: readonly string[] | undefined) {
    this.#fn = fn;
    this.#every = every;
    this.#measurements = measurements;
  }

  add(row: SeriesRow): void {
    const window = Math.floor(row.time / this.#every) * this.#every;
    if (window !== this.#window) {
      this.#flush();
      this.#window = window;
    }
    const values = pick(row.values, this.#measurements);
    if (values === undefined) return;
    let device = this.#acc.get(row.deviceId);
    if (!device) this.#acc.set(row.deviceId, (device = new Map()));
    for (const [m, v] of Object.entries(values)) {
      const a = device.get(m);
      if (!a) {
        device.set(m, { count: 1, sum: v, min: v, max: v, first: v, last: v });
        continue;
      }
      a.count++;
      a.sum += v;
      if (v < a.min) a.min = v;
      if (v > a.max) a.max = v;
      a.last = v;
    }
  }

  /** The rows of every window, in (time, deviceId) order. */
  finish(): SeriesRow[] {
    this.#flush();
    return this.#out;
  }

  #flush(): void {
    for (const deviceId of [...this.#acc.keys()].sort()) {
      const values: Record<string, number> = {};
      for (const [m, a] of this.#acc.get(deviceId) as Map<string, Acc>) values[m] = result(this.#fn, a);
      this.#out.push({ deviceId, time: this.#window, values });
    }
    this.#acc = new Map();
  }
}
