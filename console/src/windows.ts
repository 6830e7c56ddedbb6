/**
 * Which aggregate window to ask for: the shortest common window that keeps a
 * range within about one point per pixel of the chart. Zooming in asks again
 * with a shorter window, so the chart always draws a few hundred to a couple
 * of thousand points, whatever the number of raw readings behind them.
 */
const STEPS: readonly [number, string][] = [
  [1, '1s'],
  [5, '5s'],
  [10, '10s'],
  [30, '30s'],
  [60, '1m'],
  [300, '5m'],
  [900, '15m'],
  [1800, '30m'],
  [3600, '1h'],
  [10_800, '3h'],
  [21_600, '6h'],
  [43_200, '12h'],
  [86_400, '1d'],
  [604_800, '7d'],
];

/** The API answers at most this many windows in JSON (api/limits.ts maxWindows); the console stays well under it. */
const MAX_POINTS = 2000;

export function windowFor(rangeMs: number, widthPx: number): { every: string; ms: number } {
  const points = Math.max(50, Math.min(MAX_POINTS, Math.round(widthPx)));
  for (const [seconds, every] of STEPS) if (rangeMs / (seconds * 1000) <= points) return { every, ms: seconds * 1000 };
  const days = Math.ceil(rangeMs / 86_400_000 / points);
  return { every: `${days}d`, ms: days * 86_400_000 };
}
