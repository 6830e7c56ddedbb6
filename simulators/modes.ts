import { z } from 'zod';
import type { Profile } from '../device-profiles/index.js';

/**
 * Standing faults a device of a scenario can be given, beside the per-reading
 * fault rates (faults.ts): each makes one device show one thing an operator
 * watches for, on a cycle, so a demo shows every health status and alert.
 *
 * | mode | what the device does | where it shows |
 * |---|---|---|
 * | silent | reports for SILENT_CYCLE.report of its profile's intervals, then sends nothing (still connected) for SILENT_CYCLE.quiet, and again | health `late` then `silent`; the next reading is flagged `gap`; `silent`/`late` alerts open and resolve |
 * | battery-drain | its battery runs from full to empty over BATTERY_CYCLE readings, then is replaced | health `battery.low`; `battery_low` alerts |
 * | flapping | drops its connection without DISCONNECT and reconnects before every reading (a reconnect storm) | connection events; `offline` alerts with a short threshold |
 * | garbage | every other reading is half a payload | rejections (`TESTBED_READING_NOT_JSON`, `..._BAD_BINARY`); `rejections` alerts |
 */
export const DEVICE_MODES = ['silent', 'battery-drain', 'flapping', 'garbage'] as const;
export type DeviceMode = (typeof DEVICE_MODES)[number];
export const deviceModeSchema = z.enum(DEVICE_MODES);

/** Reporting intervals of the profile with readings, then without: 12 is past the default silent threshold (6). */
export const SILENT_CYCLE = { report: 6, quiet: 12 } as const;
/** Readings from a full battery to an empty one. */
export const BATTERY_CYCLE = 24;

/** What each mode does, in words, for banners and summaries. */
export const MODE_DESCRIPTIONS: Readonly<Record<DeviceMode, string>> = {
  silent: `reports for ${SILENT_CYCLE.report} intervals, then quiet for ${SILENT_CYCLE.quiet} intervals (late, then silent; the next reading is a gap)`,
  'battery-drain': `its battery runs down over ${BATTERY_CYCLE} readings (battery low), then is replaced`,
  flapping: 'drops its connection and reconnects before every reading (a reconnect storm)',
  garbage: 'every other reading is half a payload (rejected)',
};

/** The battery a drain runs down: the profile's battery measurement, from the top of its plausible range to the bottom. */
export interface Battery {
  readonly measurement: string;
  readonly full: number;
  readonly empty: number;
}

/** The battery of a profile, when it declares one (battery-drain needs it). */
export function batteryOf(profile: Pick<Profile, 'measurements'> & Partial<Pick<Profile, 'health'>>): Battery | undefined {
  const name = profile.health?.battery?.measurement;
  const m = profile.measurements.find((x) => x.name === name);
  if (!m) return undefined;
  const span = m.plausible ?? m.range;
  return { measurement: m.name, full: span.max, empty: span.min };
}

/** The battery level of reading `n` (0-based) of a draining device. */
export function drainedLevel(battery: Battery, n: number): number {
  const step = n % BATTERY_CYCLE;
  const level = battery.full - ((battery.full - battery.empty) * step) / (BATTERY_CYCLE - 1);
  return Math.round(level * 100) / 100;
}

/**
 * Whether reading `n` (0-based) of a silent-mode device falls in its quiet
 * part. The cycle is in the profile's reporting intervals, which is what the
 * gateway judges by: a device run `perInterval` times faster than its profile
 * says (a scenario's speed) stays quiet for as many more readings.
 */
export const isQuiet = (n: number, perInterval = 1): boolean =>
  n % ((SILENT_CYCLE.report + SILENT_CYCLE.quiet) * perInterval) >= SILENT_CYCLE.report * perInterval;

/** Whether reading `n` (0-based) of a garbage-mode device is garbage. */
export const isGarbage = (n: number): boolean => n % 2 === 1;
