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

/**
 * Finnish school terms, roughly: no school from early June to mid-August, over
 * Christmas and in the February ski week. Days of the year, 0-based.
 */
export function isSchoolDay(t: LocalTime): boolean {
  if (isWeekend(t)) return false;
  const d = t.dayOfYear;
  const summer = d >= 152 && d < 226; // about 1 June to 13 August
  const christmas = d >= 354 || d < 6;
  const skiWeek = d >= 49 && d < 56;
  return !(summer || christmas || skiWeek);
}

/**
 * How full a classroom is, 0 to 1: lessons from 8:15 to 14:30 with a lunch
 * break around 11:00 when the class leaves the room.
 */
export function classroomOccupancy(t: LocalTime): number {
  if (!isSchoolDay(t)) return 0;
  const inClass = t.hour >= 8.25 && t.hour < 14.5 ? 1 : 0;
  const lunch = t.hour >= 10.9 && t.hour < 11.5 ? 0.15 : 1;
  return inClass * lunch;
}

/**
 * People on foot around a public building (a library, a station entrance), 0
 * to about 1: open 8 to 20 on weekdays, 10 to 16 at weekends, busiest at lunch
 * and after school and work.
 */
export function footfall(t: LocalTime): number {
  const weekend = isWeekend(t);
  const open = weekend ? t.hour >= 10 && t.hour < 16 : t.hour >= 8 && t.hour < 20;
  if (!open) return 0.003;
  return (weekend ? 0.35 : 0.3) + 0.35 * bump(t.hour, 12, 1.2) + 0.45 * bump(t.hour, 16, 1.5);
}

/** Pupils walking to and from school past a crossing, 0 to 1. */
export function schoolWalk(t: LocalTime): number {
  if (!isSchoolDay(t)) return 0;
  return bump(t.hour, 7.9, 0.3) + 0.6 * bump(t.hour, 13.2, 0.5) + 0.5 * bump(t.hour, 14.6, 0.5);
}

/** Cycling: commuters at the rush hours, leisure in the evening; far more in summer (`summer` from season()). */
export function cycling(t: LocalTime, summer: number): { inbound: number; outbound: number } {
  const weekend = isWeekend(t);
  const leisure = 0.25 * bump(t.hour, 14, 3) + 0.15 * bump(t.hour, 19, 1.5);
  const scale = 0.15 + 0.85 * summer;
  if (weekend) return { inbound: scale * (0.05 + leisure), outbound: scale * (0.05 + leisure) };
  return { inbound: scale * (0.04 + bump(t.hour, 7.8, 0.7) + leisure), outbound: scale * (0.04 + 0.9 * bump(t.hour, 16.3, 1) + leisure) };
}
