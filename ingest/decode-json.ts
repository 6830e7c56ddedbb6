import { z } from 'zod';
import type { ErrorCode } from '../core/index.js';
import { type CompiledProfile, checkValue, isSuspect, unitOf, type Problem } from '../device-profiles/index.js';
import type { Decoded } from './decode.js';

/** A reading's own time as text: ISO 8601 with a zone. */
const isoTime = z.iso.datetime({ offset: true });

/** Which code a message with several problems gets: the first of these it has. */
const PRIORITY: readonly ErrorCode[] = [
  'TESTBED_READING_UNKNOWN_MEASUREMENT',
  'TESTBED_READING_BAD_TIME',
  'TESTBED_READING_UNIT_NOT_ACCEPTED',
  'TESTBED_READING_WRONG_TYPE',
  'TESTBED_READING_OUT_OF_RANGE',
];

const BAD_TIME = 'time must be an ISO 8601 string with a zone (2026-05-01T12:00:00Z) or epoch milliseconds';

/**
 * A flat JSON reading: `{ "<measurement>": <number>, ..., "time"?: ..., "units"?: { "<measurement>": "<unit>" } }`.
 * Values are in the canonical unit unless `units` names a declared alternative.
 * The message is one reading, so any problem rejects all of it; the reason
 * lists every problem and the code is the most telling one.
 */
export function decodeFlat(profile: CompiledProfile, value: unknown): Decoded | Problem {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const what = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
    return { code: 'TESTBED_READING_NOT_OBJECT', reason: `a reading is a JSON object of measurements, not ${what}` };
  }
  const payload = value as Record<string, unknown>;
  const units = payload.units;
  let problems: Problem[] | undefined;
  let unknown: string[] | undefined;

  if (units !== undefined && (units === null || typeof units !== 'object' || Array.isArray(units) || Object.values(units).some((u) => typeof u !== 'string'))) {
    (problems ??= []).push({ code: 'TESTBED_READING_WRONG_TYPE', reason: 'units must be an object of measurement name -> unit, e.g. {"temperature": "°F"}' });
  }
  const unitOfName = units !== undefined && problems === undefined ? (units as Record<string, string>) : undefined;
  if (unitOfName) for (const name in unitOfName) if (!profile.rules.has(name)) (unknown ??= []).push(name);

  const values: Record<string, number> = {};
  let suspect: string[] | undefined;
  let count = 0;
  for (const key in payload) {
    if (key === 'time' || key === 'units') continue;
    const rule = profile.rules.get(key);
    if (!rule) {
      (unknown ??= []).push(key);
      continue;
    }
    const named = unitOfName?.[key];
    const conversion = named === undefined ? rule.canonical : unitOf(rule, named);
    if ('code' in conversion) {
      (problems ??= []).push(conversion);
      continue;
    }
    const checked = checkValue(rule, payload[key], conversion);
    if (typeof checked !== 'number') {
      (problems ??= []).push(checked);
      continue;
    }
    values[key] = checked;
    count++;
    if (isSuspect(rule, checked)) (suspect ??= []).push(key);
  }

  const time = ownTime(payload.time);
  if (typeof time === 'object') (problems ??= []).push(time);
  if (unknown) {
    const names = unknown.map((k) => JSON.stringify(k)).join(', ');
    (problems ??= []).push({
      code: 'TESTBED_READING_UNKNOWN_MEASUREMENT',
      reason: `unknown measurement ${names} (profile ${profile.profile.id} has ${profile.names})`,
    });
  }
  if (problems) return worst(problems);
  if (count === 0) return { code: 'TESTBED_READING_EMPTY', reason: `the reading has none of ${profile.profile.id}'s measurements (${profile.names})` };
  const hint = typeof payload.time === 'number' && payload.time < 1e11 ? ' (it looks like epoch seconds; send milliseconds)' : undefined;
  return { readings: [{ time: time as number | undefined, timeHint: hint, values, suspect }], problems: [] };
}

/** The reading's own time in epoch ms, undefined when it has none, or the problem. */
function ownTime(time: unknown): number | undefined | Problem {
  if (time === undefined) return undefined;
  if (typeof time === 'number') return Number.isSafeInteger(time) && time >= 0 ? time : { code: 'TESTBED_READING_BAD_TIME', reason: BAD_TIME };
  if (typeof time !== 'string' || !isoTime.safeParse(time).success) return { code: 'TESTBED_READING_BAD_TIME', reason: BAD_TIME };
  const ms = Date.parse(time);
  return Number.isFinite(ms) ? ms : { code: 'TESTBED_READING_BAD_TIME', reason: `time ${JSON.stringify(time)} is not a valid date` };
}

/** All the problems as one, coded by the most telling. */
function worst(problems: readonly Problem[]): Problem {
  if (problems.length === 1) return problems[0]!;
  const code = PRIORITY.find((c) => problems.some((p) => p.code === c)) ?? problems[0]!.code;
  return { code, reason: problems.map((p) => p.reason).join('; ') };
}
