import { z } from 'zod';

/**
 * The device profile format, version 1. A profile is data: one JSON file per
 * profile in this folder, checked against this schema when the pipeline starts.
 */
const measurementName = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'must be lower_snake_case, at most 64 characters');

export const measurementSchema = z
  .object({
    name: measurementName,
    /** What is measured, e.g. "temperature", "mass_concentration". */
    quantity: z.string().min(1),
    /** The canonical unit readings are stored in, e.g. "°C", "µg/m³". */
    unit: z.string().min(1),
    type: z.enum(['number', 'integer']).default('number'),
    /** The physical range: a value outside it cannot be real and is rejected. */
    range: z.object({ min: z.number(), max: z.number() }).refine((r) => r.min < r.max, 'range.min must be below range.max'),
    description: z.string().optional(),
  })
  .strict();

/** A test vector: a payload and what it must become. */
export const testVectorSchema = z
  .object({
    name: z.string().min(1),
    /** The payload as JSON (encoded with JSON.stringify) or, with `payloadText`, as raw text. */
    payload: z.unknown().optional(),
    payloadText: z.string().optional(),
    /** The values the payload must decode to. */
    expect: z.record(z.string(), z.number()).optional(),
    /** The time (ISO 8601) the reading must carry, when the payload gives one. */
    expectTime: z.string().optional(),
    /** The rejection code the payload must get instead. */
    reject: z.string().regex(/^TESTBED_READING_[A-Z_]+$/).optional(),
  })
  .strict()
  .refine((v) => (v.payload === undefined) !== (v.payloadText === undefined), 'give exactly one of payload and payloadText')
  .refine((v) => (v.expect === undefined) !== (v.reject === undefined), 'give exactly one of expect and reject');

/** Names a measurement may not have: the reading time and the tags readings are stored with. */
export const RESERVED_NAMES: ReadonlySet<string> = new Set(['time', 'device', 'pilot', 'company', 'testbed', 'profile']);

export const profileSchema = z
  .object({
    formatVersion: z.literal(1),
    id: z.string().regex(/^[a-z][a-z0-9-]{0,63}$/, 'must be lower-kebab-case'),
    name: z.string().min(1),
    description: z.string().optional(),
    manufacturer: z.string().optional(),
    model: z.string().optional(),
    /** Payload formats a device of this profile may publish. */
    formats: z.array(z.enum(['json'])).min(1).default(['json']),
    /** How often a device is expected to report, in seconds. */
    reportingIntervalSeconds: z.number().positive().optional(),
    measurements: z.array(measurementSchema).min(1),
    tests: z.array(testVectorSchema).default([]),
  })
  .strict()
  .superRefine((p, ctx) => {
    const seen = new Set<string>();
    for (const m of p.measurements) {
      if (RESERVED_NAMES.has(m.name)) ctx.addIssue({ code: 'custom', message: `"${m.name}" is reserved (${[...RESERVED_NAMES].join(', ')})`, path: ['measurements'] });
      if (seen.has(m.name)) ctx.addIssue({ code: 'custom', message: `measurement ${m.name} appears twice`, path: ['measurements'] });
      seen.add(m.name);
    }
  });

export type Profile = z.infer<typeof profileSchema>;
export type Measurement = z.infer<typeof measurementSchema>;
export type TestVector = z.infer<typeof testVectorSchema>;
