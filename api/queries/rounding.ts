import type { Device } from '../../core/index.js';
import type { ProfileCatalogue } from '../../device-profiles/index.js';
import type { AggregateFunction, SeriesRow } from '../../store/index.js';

/** Significant digits an aggregate keeps when its measurement declares no resolution. */
export const SIGNIFICANT_DIGITS = 6;

/** Decimal places of a resolution as written: 0.1 -> 1, 0.25 -> 2, 1e-7 -> 7, 5 -> 0. */
function decimalsOf(resolution: number): number {
  const [digits = '', exponent = '0'] = resolution.toExponential().split('e');
  const fraction = digits.split('.')[1]?.length ?? 0;
  return Math.max(0, fraction - Number(exponent));
}

/**
 * A value rounded to a multiple of `resolution`, written with no more decimals
 * than the resolution has (so 0.1 × 3 is 0.3, not 0.30000000000000004); without
 * one, to SIGNIFICANT_DIGITS significant digits, never rounding away a digit
 * before the decimal point (1234567.89 -> 1234568).
 */
export function roundValue(value: number, resolution: number | undefined): number {
  if (!Number.isFinite(value)) return value;
  if (resolution !== undefined) return Number((Math.round(value / resolution) * resolution).toFixed(decimalsOf(resolution)));
  if (Math.abs(value) >= 10 ** SIGNIFICANT_DIGITS) return Math.round(value);
  return Number(value.toPrecision(SIGNIFICANT_DIGITS));
}

/**
 * Rounds the values of aggregate rows as their measurements declare (the
 * profile's `resolution`): a mean or sum otherwise comes back with the 16 digits
 * of floating-point arithmetic, which no sensor measured. A count is a count,
 * left as it is.
 */
export function aggregateRounding(profiles: ProfileCatalogue, devices: readonly Device[], fn: AggregateFunction): (row: SeriesRow) => SeriesRow {
  if (fn === 'count') return (row) => row;
  const resolutions = new Map<string, Map<string, number | undefined>>();
  for (const d of devices) {
    const measurements = profiles.get(d.profile)?.profile.measurements ?? [];
    resolutions.set(d.id, new Map(measurements.map((m) => [m.name, m.resolution])));
  }
  return (row) => {
    const of = resolutions.get(row.deviceId);
    const values = Object.fromEntries(Object.entries(row.values).map(([m, v]) => [m, roundValue(v, of?.get(m))]));
    return { ...row, values };
  };
}
