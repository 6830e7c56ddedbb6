import type { LatestRow } from './types.js';

/** The newest value of one measurement of a device, from the reading that carried it. */
export interface LatestValue {
  readonly measurement: string;
  readonly time: number;
  readonly value: number;
  readonly suspect: boolean;
}

/**
 * One device's LatestRow from the newest value of each of its measurements,
 * keeping only `measurements` (all when undefined); undefined when none is left.
 */
export function latestRow(deviceId: string, found: readonly LatestValue[], measurements: readonly string[] | undefined): LatestRow | undefined {
  const values: Record<string, number> = {};
  const times: Record<string, number> = {};
  const suspect: string[] = [];
  let time = Number.NEGATIVE_INFINITY;
  for (const f of [...found].sort((a, b) => (a.measurement < b.measurement ? -1 : 1))) {
    if (measurements !== undefined && !measurements.includes(f.measurement)) continue;
    values[f.measurement] = f.value;
    times[f.measurement] = f.time;
    if (f.suspect) suspect.push(f.measurement);
    time = Math.max(time, f.time);
  }
  if (suspect.length > 0) return { deviceId, time, values, times, suspect };
  return Object.keys(values).length > 0 ? { deviceId, time, values, times } : undefined;
}
