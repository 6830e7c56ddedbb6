import { z } from 'zod';
import type { ErrorCode } from '../core/errors.js';
import type { Measurement, Profile } from './format.js';

/** What a payload object validated against its profile yields. */
export type Validated =
  | { readonly ok: true; readonly values: Record<string, number>; readonly time: string | number | undefined }
  | { readonly ok: false; readonly code: ErrorCode; readonly reason: string };

/** A profile ready for the hot path: its zod payload schema is built once, at load. */
export interface CompiledProfile {
  readonly profile: Profile;
  readonly measurements: ReadonlyMap<string, Measurement>;
  readonly schema: z.ZodType;
  validate(payload: Record<string, unknown>): Validated;
}

/** A reading's own time: ISO 8601 with a zone, or epoch milliseconds. */
export const readingTimeSchema = z.union([z.iso.datetime({ offset: true }), z.number().int().nonnegative()]);

function valueSchema(m: Measurement): z.ZodType {
  const base = m.type === 'integer' ? z.number().int() : z.number();
  return base
    .min(m.range.min, { error: `${m.name} must be at least ${m.range.min} ${m.unit}` })
    .max(m.range.max, { error: `${m.name} must be at most ${m.range.max} ${m.unit}` })
    .optional();
}

/** Which rejection code a zod issue maps to; the first by this order decides. */
const PRIORITY: readonly ErrorCode[] = [
  'TESTBED_READING_UNKNOWN_MEASUREMENT',
  'TESTBED_READING_BAD_TIME',
  'TESTBED_READING_WRONG_TYPE',
  'TESTBED_READING_OUT_OF_RANGE',
];

function codeOf(issue: z.core.$ZodIssue): ErrorCode {
  if (issue.code === 'unrecognized_keys') return 'TESTBED_READING_UNKNOWN_MEASUREMENT';
  if (issue.path[0] === 'time') return 'TESTBED_READING_BAD_TIME';
  if (issue.code === 'too_big' || issue.code === 'too_small') return 'TESTBED_READING_OUT_OF_RANGE';
  return 'TESTBED_READING_WRONG_TYPE';
}

function describe(issue: z.core.$ZodIssue, profile: Profile): string {
  if (issue.code === 'unrecognized_keys') {
    const known = profile.measurements.map((m) => m.name).join(', ');
    return `unknown measurement ${issue.keys.map((k) => JSON.stringify(k)).join(', ')} (profile ${profile.id} has ${known})`;
  }
  if (issue.path[0] === 'time') return 'time must be an ISO 8601 string with a zone (2026-05-01T12:00:00Z) or epoch milliseconds';
  if (issue.code === 'invalid_type') return `${issue.path.join('.')} must be a ${issue.expected === 'int' ? 'whole number' : issue.expected}`;
  return issue.message;
}

/** Builds the zod schema and validator of a profile. */
export function compileProfile(profile: Profile): CompiledProfile {
  const shape: Record<string, z.ZodType> = { time: readingTimeSchema.optional() };
  for (const m of profile.measurements) shape[m.name] = valueSchema(m);
  const schema = z.strictObject(shape);
  const measurements = new Map(profile.measurements.map((m) => [m.name, m] as const));

  return {
    profile,
    measurements,
    schema,
    validate(payload) {
      const result = schema.safeParse(payload);
      if (!result.success) {
        const issues = result.error.issues;
        const codes = issues.map(codeOf);
        const code = PRIORITY.find((c) => codes.includes(c)) ?? 'TESTBED_READING_WRONG_TYPE';
        return { ok: false, code, reason: issues.map((i) => describe(i, profile)).join('; ') };
      }
      const values: Record<string, number> = {};
      let count = 0;
      for (const key in result.data as Record<string, unknown>) {
        if (key === 'time') continue;
        const v = (result.data as Record<string, unknown>)[key];
        if (typeof v === 'number') {
          values[key] = v;
          count++;
        }
      }
      if (count === 0) return { ok: false, code: 'TESTBED_READING_EMPTY', reason: `the reading has none of ${profile.id}'s measurements` };
      return { ok: true, values, time: (result.data as { time?: string | number }).time };
    },
  };
}
