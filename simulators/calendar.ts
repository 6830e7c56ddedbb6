/**
 * Local time for the signals. The testbeds are Nordic cities; a fixed UTC+2
 * (Helsinki standard time, no daylight saving) puts rush hours and the daily
 * temperature cycle in the right place to within an hour, which is all a
 * plausible signal needs.
 */
export const LOCAL_OFFSET_HOURS = 2;

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

export interface LocalTime {
  /** Hour of the day with fractions, in [0, 24). */
  readonly hour: number;
  /** Day of the week, 0 = Sunday. */
  readonly weekday: number;
  /** Day of the year with fractions, in [0, 366). */
  readonly dayOfYear: number;
}

/** The local time of an instant, at the fixed offset. */
export function localTime(epochMs: number): LocalTime {
  const shifted = epochMs + LOCAL_OFFSET_HOURS * HOUR_MS;
  const day = Math.floor(shifted / DAY_MS);
  const hour = (shifted - day * DAY_MS) / HOUR_MS;
  const date = new Date(shifted);
  const startOfYear = Date.UTC(date.getUTCFullYear(), 0, 1);
  return { hour, weekday: date.getUTCDay(), dayOfYear: (shifted - startOfYear) / DAY_MS };
}

/** Saturday or Sunday: later mornings, hardly any rush. */
export function isWeekend(t: LocalTime): boolean {
  return t.weekday === 0 || t.weekday === 6;
}

/**
 * The shape of the daily temperature cycle, in [-1, 1]: the minimum just
 * before dawn (05:00), the maximum mid-afternoon (15:00); warming takes ten
 * hours and cooling fourteen, as on a clear day.
 */
export function dailyCycle(hour: number): number {
  const MIN_HOUR = 5;
  const MAX_HOUR = 15;
  if (hour >= MIN_HOUR && hour < MAX_HOUR) return -Math.cos((Math.PI * (hour - MIN_HOUR)) / (MAX_HOUR - MIN_HOUR));
  const sinceMax = (hour - MAX_HOUR + 24) % 24;
  return Math.cos((Math.PI * sinceMax) / (24 - (MAX_HOUR - MIN_HOUR)));
}

/** 0 in the depth of winter (late January), 1 at the height of summer (late July). */
export function season(dayOfYear: number): number {
  return (1 - Math.cos((2 * Math.PI * (dayOfYear - 20)) / 365.25)) / 2;
}

const bump = (hour: number, centre: number, width: number): number => Math.exp(-0.5 * ((hour - centre) / width) ** 2);
const logistic = (x: number): number => 1 / (1 + Math.exp(-x));

/**
 * Road traffic, roughly 0 at night to 1 at the weekday rush hours (08:00 and
 * 16:30). Weekends start later and have hardly any rush.
 */
export function trafficLevel(t: LocalTime): number {
  const weekend = isWeekend(t);
  const wake = weekend ? 8.5 : 6.5;
  const daytime = logistic((t.hour - wake) * 1.5) * logistic((21.5 - t.hour) * 1.2);
  const rush = bump(t.hour, 8, 1) * 0.45 + bump(t.hour, 16.5, 1.3) * 0.4;
  return 0.06 + (weekend ? 0.4 : 0.5) * daytime + (weekend ? 0.1 : 1) * rush;
}
