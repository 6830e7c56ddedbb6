/**
 * Times are shown in the testbeds' local time, Europe/Helsinki (all six
 * testbed cities share it), with the zone named, whatever the browser's zone.
 */
export const TIME_ZONE = 'Europe/Helsinki';

const dateTime = new Intl.DateTimeFormat('en-GB', {
  timeZone: TIME_ZONE,
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  timeZoneName: 'short',
});

/** e.g. "01/05/2025, 15:00:00 EEST"; a dash for no time. */
export function formatTime(iso: string | number | null | undefined): string {
  if (iso === null || iso === undefined) return '–';
  return dateTime.format(new Date(iso));
}

/** "3 min ago" style, for last-seen columns. */
export function ago(iso: string | null, now = Date.now()): string {
  if (iso === null) return 'never since the gateway started';
  const s = Math.round((now - Date.parse(iso)) / 1000);
  if (s < 60) return `${Math.max(0, s)} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86_400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86_400)} d ago`;
}

export function formatValue(value: number | undefined, unit: string): string {
  if (value === undefined || Number.isNaN(value)) return '–';
  const text = Math.abs(value) >= 1000 || Number.isInteger(value) ? String(Math.round(value * 100) / 100) : value.toPrecision(4);
  return unit && unit !== '1' ? `${text} ${unit}` : text;
}

const clock = new Intl.DateTimeFormat('en-GB', { timeZone: TIME_ZONE, hour: '2-digit', minute: '2-digit' });
const day = new Intl.DateTimeFormat('en-GB', { timeZone: TIME_ZONE, day: '2-digit', month: '2-digit' });

/** A chart axis tick in the testbed's zone: the time of day over a short range, the date (and time) over a longer one. */
export function axisTime(ms: number, range: { from: number; to: number }): string {
  const span = range.to - range.from;
  if (span <= 86_400_000) return clock.format(ms);
  if (span <= 7 * 86_400_000) return `${day.format(ms)} ${clock.format(ms)}`;
  return day.format(ms);
}
