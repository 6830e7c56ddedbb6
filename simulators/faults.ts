import { z } from 'zod';
import type { ErrorCode } from '../core/index.js';
import type { PayloadFormat, Profile } from '../device-profiles/index.js';
import { decodeRaw, rawLimits } from './encode.js';
import type { Random } from './random.js';

/**
 * Faults a virtual device can be told to make, each by a rate: the chance,
 * per reading, that this reading goes wrong that way. At most one fault
 * starts per reading.
 *
 * | fault | what the device does | what the gateway should answer |
 * |---|---|---|
 * | malformed | sends half of its payload | NOT_JSON (JSON, SenML) or BAD_BINARY |
 * | outOfRange | one value far outside its physical range | OUT_OF_RANGE |
 * | clockSkew | its own time off by skewSeconds | TIME_IN_FUTURE / TIME_TOO_OLD when outside the window, else stored |
 * | duplicate | publishes the same payload twice | stored once (same time) or twice (binary: no time) |
 * | stuck | repeats its last values for stuckReadings readings | stored |
 * | gap | sends nothing for gapReadings readings | nothing |
 * | disconnect | drops the connection without DISCONNECT, offline for offlineReadings readings, which are lost | nothing |
 * | backlog | offline for backlogReadings readings, kept, then sent late as one SenML pack (or one by one as JSON with their times) | stored with their own times |
 */
export const FAULT_KINDS = ['malformed', 'outOfRange', 'clockSkew', 'duplicate', 'stuck', 'gap', 'disconnect', 'backlog'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

const rate = z.number().min(0).max(1);
const readings = z.number().int().min(1).max(1000);

export const faultsSchema = z
  .object({
    malformed: rate.optional(),
    outOfRange: rate.optional(),
    clockSkew: rate.optional(),
    duplicate: rate.optional(),
    stuck: rate.optional(),
    gap: rate.optional(),
    disconnect: rate.optional(),
    backlog: rate.optional(),
    /** How far a skewed clock is off, in seconds: ahead when positive (default one hour). */
    skewSeconds: z
      .number()
      .int()
      .refine((s) => s !== 0, 'must not be 0')
      .default(3600),
    gapReadings: readings.default(3),
    stuckReadings: readings.default(5),
    offlineReadings: readings.default(3),
    backlogReadings: readings.default(5),
  })
  .strict()
  .refine((f) => FAULT_KINDS.reduce((sum, k) => sum + (f[k] ?? 0), 0) <= 1, 'the fault rates add up to more than 1');

export type Faults = z.infer<typeof faultsSchema>;
export const NO_FAULTS: Faults = faultsSchema.parse({});

/** The gateway's window for a reading's own time, as the simulator assumes it (the gateway's defaults unless told). */
export interface TimeWindow {
  readonly maxFutureSeconds: number;
  readonly maxAgeDays: number;
}
export const DEFAULT_WINDOW: TimeWindow = { maxFutureSeconds: 600, maxAgeDays: 365 };

/** The rejection a fault should get from the gateway, or undefined when the gateway should store what it gets. */
export function expectedCode(kind: FaultKind, format: PayloadFormat, faults: Faults, window: TimeWindow): ErrorCode | undefined {
  switch (kind) {
    case 'malformed':
      return format === 'binary' ? 'TESTBED_READING_BAD_BINARY' : 'TESTBED_READING_NOT_JSON';
    case 'outOfRange':
      return 'TESTBED_READING_OUT_OF_RANGE';
    case 'clockSkew':
      if (faults.skewSeconds > window.maxFutureSeconds) return 'TESTBED_READING_TIME_IN_FUTURE';
      if (faults.skewSeconds < -window.maxAgeDays * 86_400) return 'TESTBED_READING_TIME_TOO_OLD';
      return undefined;
    default:
      return undefined;
  }
}

/** A value outside a measurement's physical range that the device's format can carry. */
export interface OutOfRange {
  readonly measurement: string;
  /** Canonical value (JSON, SenML). */
  readonly value: number;
  /** The raw field value, for binary payloads. */
  readonly raw?: number;
}

/**
 * The out-of-range values a device can send: any measurement in JSON or
 * SenML; in binary, those whose field can hold a raw value that reads outside
 * the range (a uint8 of a 0..100 % measurement can: 255; a uint8 of a 0..1
 * state can too; a bool in a bit could not).
 */
export function outOfRangeChoices(profile: Pick<Profile, 'measurements' | 'binary'>, format: PayloadFormat): OutOfRange[] {
  if (format !== 'binary') {
    return profile.measurements.map((m) => ({ measurement: m.name, value: m.range.max + Math.max(1, Math.ceil((m.range.max - m.range.min) / 2)) }));
  }
  const choices: OutOfRange[] = [];
  for (const field of profile.binary?.fields ?? []) {
    const m = profile.measurements.find((x) => x.name === field.measurement)!;
    const [lo, hi] = rawLimits(field.type);
    const float = field.type.startsWith('float');
    const candidates = float ? [(m.range.max + (m.range.max - m.range.min) - field.offset) / field.scale] : [hi, lo];
    for (const raw of candidates) {
      if (raw === field.noValue) continue;
      const value = decodeRaw(field, m, raw);
      if (value > m.range.max || value < m.range.min) {
        choices.push({ measurement: m.name, value, raw: float ? raw : Math.round(raw) });
        break;
      }
    }
  }
  return choices;
}

/** Which faults apply to a device: some need a time in the payload, or an out-of-range value the format can carry. */
export function applicableFaults(profile: Pick<Profile, 'measurements' | 'binary' | 'formats'>, format: PayloadFormat, includeTime: boolean): Set<FaultKind> {
  const timed = format !== 'binary' && includeTime;
  const kinds = new Set<FaultKind>(FAULT_KINDS);
  if (!timed) kinds.delete('clockSkew');
  // A backlog is sent late with its readings' own times: as SenML, or as timed JSON.
  if (!(profile.formats.includes('senml') || profile.formats.includes('json'))) kinds.delete('backlog');
  if (outOfRangeChoices(profile, format).length === 0) kinds.delete('outOfRange');
  return kinds;
}

/** Draws the fault (if any) of each reading: one uniform draw against the rates laid end to end. */
export function drawFault(random: Random, faults: Faults, applicable: ReadonlySet<FaultKind>): FaultKind | undefined {
  const u = random.next();
  let edge = 0;
  for (const kind of FAULT_KINDS) {
    edge += faults[kind] ?? 0;
    if (u < edge) return applicable.has(kind) ? kind : undefined;
  }
  return undefined;
}
