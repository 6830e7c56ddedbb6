import { z } from 'zod';
import { QUANTITIES, QUANTITY_NAMES, type Quantity } from './units.js';

/**
 * The commands a profile declares: what the API may send to a device of the
 * profile, with typed parameters. Numeric parameters have a quantity, its
 * canonical unit and a physical range, and are checked as measurements are.
 */
const paramName = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'must be lower_snake_case, at most 64 characters');
/** Configuration keys follow the document they sit in (camelCase, as `reportingIntervalSeconds`). */
const configKey = z.string().regex(/^[a-z][A-Za-z0-9_]{0,63}$/, 'must start with a lower-case letter, then letters, digits or _, at most 64 characters');

/** A typed value a device takes (a command parameter, a configuration key), named by `name`. */
function typedValueSchema(name: z.ZodString) {
  const common = {
    name,
    description: z.string().optional(),
    /** A parameter that may be left out; the device then uses its own default. */
    optional: z.boolean().default(false),
  };
  const numberSchema = z
    .strictObject({
      ...common,
      type: z.enum(['number', 'integer']),
      quantity: z.enum(QUANTITY_NAMES as [Quantity, ...Quantity[]]),
      /** The quantity's canonical unit: values are sent to the device in it. */
      unit: z.string().min(1),
      range: z.strictObject({ min: z.number(), max: z.number() }).refine((r) => r.min < r.max, 'range.min must be below range.max'),
    })
    .superRefine((p, ctx) => {
      const canonical = QUANTITIES[p.quantity].canonical.symbol;
      if (p.unit !== canonical) ctx.addIssue({ code: 'custom', path: ['unit'], message: `${p.quantity} is given in ${canonical}, not ${p.unit}` });
    });
  const booleanSchema = z.strictObject({ ...common, type: z.literal('boolean') });
  const stringSchema = z.strictObject({
    ...common,
    type: z.literal('string'),
    /** The values it may take; any string up to maxLength when not given. */
    enum: z.array(z.string()).min(1).optional(),
    maxLength: z.number().int().positive().max(1000).default(200),
  });
  return z.discriminatedUnion('type', [numberSchema, booleanSchema, stringSchema]);
}

export const commandParamSchema = typedValueSchema(paramName);

/**
 * A configuration key a profile declares: typed and checked as a command
 * parameter is (numbers as measurements). A desired document may set any of
 * them; `optional` has no meaning here.
 */
export const configFieldSchema = typedValueSchema(configKey);

/** Commands expire after an hour unless the profile or the sender says otherwise. */
export const DEFAULT_COMMAND_TTL_SECONDS = 3600;
/** A week: beyond that a command is more likely stale than useful. */
export const MAX_COMMAND_TTL_SECONDS = 7 * 24 * 3600;

export const commandDefinitionSchema = z
  .strictObject({
    name: paramName,
    description: z.string().min(1),
    params: z.array(commandParamSchema).default([]),
    /** How long an undelivered or unanswered command stays worth doing. */
    ttlSeconds: z.number().int().positive().max(MAX_COMMAND_TTL_SECONDS).default(DEFAULT_COMMAND_TTL_SECONDS),
  })
  .superRefine((c, ctx) => {
    const seen = new Set<string>();
    for (const p of c.params) {
      if (seen.has(p.name)) ctx.addIssue({ code: 'custom', path: ['params'], message: `parameter ${p.name} appears twice` });
      seen.add(p.name);
    }
  });

export type CommandParam = z.infer<typeof commandParamSchema>;
export type ConfigField = z.infer<typeof configFieldSchema>;
export type CommandDefinition = z.infer<typeof commandDefinitionSchema>;
