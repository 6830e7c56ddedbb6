import { z } from 'zod';
import { BINARY_TYPE_SIZES, binaryLayoutSchema, layoutLength, type BinaryLayout } from './format-binary.js';
import { commandDefinitionSchema, configFieldSchema } from './format-commands.js';
import { testVectorSchema } from './format-vectors.js';
import { QUANTITIES, QUANTITY_NAMES, findUnit, type Quantity } from './units.js';

/**
 * The device profile format, version 1. A profile is data: one JSON file per
 * profile in this folder, checked against this schema when the pipeline starts.
 * device-profiles/README.md documents every field.
 */
const measurementName = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'must be lower_snake_case, at most 64 characters');
const interval = z.object({ min: z.number(), max: z.number() }).strict();

export const measurementSchema = z
  .object({
    name: measurementName,
    /** What is measured; one of the quantities of units.ts, which fixes the canonical unit. */
    quantity: z.enum(QUANTITY_NAMES as [Quantity, ...Quantity[]]),
    /** The canonical unit of the quantity: readings are stored in it. */
    unit: z.string().min(1),
    type: z.enum(['number', 'integer']).default('number'),
    /** The physical range: a value outside it cannot be real and is rejected. */
    range: interval.refine((r) => r.min < r.max, 'range.min must be below range.max'),
    /** The plausible range: a value outside it is stored, flagged as suspect. Default: the physical range. */
    plausible: interval.refine((r) => r.min < r.max, 'plausible.min must be below plausible.max').optional(),
    /** Other units a device may send this measurement in; ingest converts them to `unit`. */
    alternativeUnits: z.array(z.string().min(1)).default([]),
    /**
     * The smallest step the sensor resolves, in `unit` (e.g. 0.1). Aggregates
     * (a mean, a sum) are rounded to it; without it, to 6 significant digits.
     */
    resolution: z.number().positive().finite().optional(),
    description: z.string().optional(),
  })
  .strict()
  .superRefine((m, ctx) => {
    const q = QUANTITIES[m.quantity];
    if (m.unit !== q.canonical.symbol) {
      ctx.addIssue({
        code: 'custom',
        path: ['unit'],
        message: `${m.quantity} is stored in ${q.canonical.symbol}, not ${m.unit}; declare other units in alternativeUnits`,
      });
    }
    for (const [i, u] of m.alternativeUnits.entries()) {
      const known = findUnit(m.quantity, u);
      if (!known || known === q.canonical) {
        const options = q.alternatives.map((a) => a.symbol).join(', ') || 'none';
        ctx.addIssue({ code: 'custom', path: ['alternativeUnits', i], message: `${u} is not an alternative unit of ${m.quantity} (known: ${options})` });
      }
    }
    if (m.plausible && (m.plausible.min < m.range.min || m.plausible.max > m.range.max)) {
      ctx.addIssue({ code: 'custom', path: ['plausible'], message: 'the plausible range must lie inside the physical range' });
    }
  });

/** Names a measurement may not have: payload keys, the quality flag and the tags readings are stored with. */
export const RESERVED_NAMES: ReadonlySet<string> = new Set(['time', 'units', 'suspect', 'stuck', 'gap', 'device', 'pilot', 'company', 'testbed', 'profile']);

/** The payload formats; ingest tells them apart by the first byte (see ingest/decode.ts). */
export const PAYLOAD_FORMATS = ['json', 'senml', 'binary'] as const;
export type PayloadFormat = (typeof PAYLOAD_FORMATS)[number];

/**
 * How health is judged for devices of a profile (all optional): the late and
 * silent thresholds as multiples of the reporting interval, which measurement
 * is the battery and below what it is low, which is the radio signal, and how
 * many equal values in a row make a reading `stuck`.
 */
export const profileHealthSchema = z
  .object({
    lateAfterIntervals: z.number().positive().default(2),
    silentAfterIntervals: z.number().positive().default(6),
    battery: z.object({ measurement: measurementName, lowBelow: z.number() }).strict().optional(),
    signal: z.object({ measurement: measurementName }).strict().optional(),
    stuckAfter: z.number().int().min(2).default(10),
  })
  .strict()
  .refine((h) => h.silentAfterIntervals > h.lateAfterIntervals, {
    message: 'silentAfterIntervals must be above lateAfterIntervals',
    path: ['silentAfterIntervals'],
  });

export const profileSchema = z
  .object({
    formatVersion: z.literal(1),
    id: z.string().regex(/^[a-z][a-z0-9-]{0,63}$/, 'must be lower-kebab-case'),
    name: z.string().min(1),
    description: z.string().optional(),
    manufacturer: z.string().optional(),
    model: z.string().optional(),
    /** Payload formats a device of this profile may publish. */
    formats: z.array(z.enum(PAYLOAD_FORMATS)).min(1).default(['json']),
    /** How often a device is expected to report, in seconds. */
    reportingIntervalSeconds: z.number().positive(),
    measurements: z.array(measurementSchema).min(1),
    /** The layout of binary payloads; required when formats include binary. */
    binary: binaryLayoutSchema.optional(),
    /** What may be sent to a device of this profile (format-commands.ts). */
    commands: z.array(commandDefinitionSchema).default([]),
    /** The keys of a device's desired and reported configuration (format-commands.ts). */
    configuration: z.array(configFieldSchema).default([]),
    /** How device health is judged (see profileHealthSchema); defaults when absent. */
    health: profileHealthSchema.default({ lateAfterIntervals: 2, silentAfterIntervals: 6, stuckAfter: 10 }),
    tests: z.array(testVectorSchema).default([]),
  })
  .strict()
  .superRefine((p, ctx) => {
    const seen = new Set<string>();
    for (const m of p.measurements) {
      if (RESERVED_NAMES.has(m.name))
        ctx.addIssue({ code: 'custom', message: `"${m.name}" is reserved (${[...RESERVED_NAMES].join(', ')})`, path: ['measurements'] });
      if (seen.has(m.name)) ctx.addIssue({ code: 'custom', message: `measurement ${m.name} appears twice`, path: ['measurements'] });
      seen.add(m.name);
    }
    const keys = new Set<string>();
    for (const f of p.configuration) {
      if (keys.has(f.name)) ctx.addIssue({ code: 'custom', message: `configuration key ${f.name} appears twice`, path: ['configuration'] });
      keys.add(f.name);
    }
    const commands = new Set<string>();
    for (const c of p.commands) {
      if (commands.has(c.name)) ctx.addIssue({ code: 'custom', message: `command ${c.name} appears twice`, path: ['commands'] });
      commands.add(c.name);
    }
    for (const [key, named] of [
      ['battery', p.health.battery],
      ['signal', p.health.signal],
    ] as const) {
      if (named && !seen.has(named.measurement))
        ctx.addIssue({ code: 'custom', path: ['health', key, 'measurement'], message: `no measurement ${named.measurement} in this profile` });
    }
    if (new Set(p.formats).size !== p.formats.length) ctx.addIssue({ code: 'custom', path: ['formats'], message: 'a format appears twice' });
    const binary = p.formats.includes('binary');
    if (binary && !p.binary) ctx.addIssue({ code: 'custom', path: ['binary'], message: 'formats include binary: give the binary layout' });
    if (!binary && p.binary) ctx.addIssue({ code: 'custom', path: ['formats'], message: 'a binary layout is given: add binary to formats' });
    if (p.binary) {
      for (const problem of layoutProblems(
        p.binary,
        p.measurements,
        p.formats.some((f) => f !== 'binary'),
      )) {
        ctx.addIssue({ code: 'custom', path: ['binary', ...problem.path], message: problem.message });
      }
    }
  });

/** Bytes a JSON text may start with (RFC 8259 section 2: whitespace, then a value; here an object or an array). */
const JSON_START = new Set([0x20, 0x09, 0x0a, 0x0d, 0x7b, 0x5b]);

/** What is wrong with a binary layout for these measurements; `alsoText`: the profile accepts JSON or SenML too. */
function layoutProblems(layout: BinaryLayout, measurements: readonly Measurement[], alsoText: boolean): { path: (string | number)[]; message: string }[] {
  const problems: { path: (string | number)[]; message: string }[] = [];
  const byName = new Map(measurements.map((m) => [m.name, m] as const));
  const length = layoutLength(layout);
  const header = layout.header === undefined ? 0 : layout.header.length / 2;
  if (alsoText) {
    const first = layout.header === undefined ? undefined : Number.parseInt(layout.header.slice(0, 2), 16);
    if (first === undefined || JSON_START.has(first)) {
      problems.push({
        path: ['header'],
        message:
          'with JSON or SenML also accepted, binary payloads need a header whose first byte is not {, [ or whitespace, so the first byte tells the formats apart',
      });
    }
  }
  const used = new Uint8Array(length);
  used.fill(1, 0, Math.min(header, length));
  const named = new Set<string>();
  layout.fields.forEach((f, i) => {
    const m = byName.get(f.measurement);
    if (!m) return problems.push({ path: ['fields', i, 'measurement'], message: `no measurement ${f.measurement} in this profile` });
    if (named.has(f.measurement)) problems.push({ path: ['fields', i, 'measurement'], message: `${f.measurement} has two fields` });
    named.add(f.measurement);
    const end = f.at + BINARY_TYPE_SIZES[f.type];
    if (end > length) return problems.push({ path: ['fields', i, 'at'], message: `the field ends at byte ${end}, beyond the payload length ${length}` });
    if (used.subarray(f.at, end).some((b) => b === 1)) problems.push({ path: ['fields', i, 'at'], message: 'the field overlaps the header or another field' });
    used.fill(1, f.at, end);
    if (f.unit !== undefined && f.unit !== m.unit && !m.alternativeUnits.includes(f.unit)) {
      problems.push({ path: ['fields', i, 'unit'], message: `${f.unit} is neither ${m.name}'s unit (${m.unit}) nor one of its alternativeUnits` });
    }
    if (m.type === 'integer' && !(Number.isInteger(f.scale) && Number.isInteger(f.offset) && (f.unit === undefined || f.unit === m.unit))) {
      problems.push({ path: ['fields', i], message: `${m.name} is an integer measurement: give its field a whole scale and offset in ${m.unit}` });
    }
    return undefined;
  });
  return problems;
}

export type Profile = z.infer<typeof profileSchema>;
export type ProfileHealth = z.infer<typeof profileHealthSchema>;
export type Measurement = z.infer<typeof measurementSchema>;
export type { TestVector } from './format-vectors.js';
export type { BinaryField, BinaryLayout } from './format-binary.js';
