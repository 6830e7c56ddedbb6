import type { ErrorCode } from '../core/index.js';
import type { MeasurementRule } from './compile.js';
import { toCanonical, type Conversion } from './units.js';

/** Why a value, a record or a whole message was not accepted. */
export interface Problem {
  readonly code: ErrorCode;
  readonly reason: string;
}

/**
 * Checks one value against its measurement, the same for every payload format:
 * a finite number (whole for an integer measurement) in `conversion`'s unit,
 * converted to the canonical unit, inside the physical range. Returns the
 * canonical value, or the problem. Allocates nothing on success.
 */
export function checkValue(rule: MeasurementRule, raw: unknown, conversion: Conversion): number | Problem {
  if (typeof raw !== 'number' || !Number.isFinite(raw)) {
    return { code: 'TESTBED_READING_WRONG_TYPE', reason: `${rule.name} must be a ${rule.integer ? 'whole number' : 'number'}` };
  }
  const value = toCanonical(raw, conversion);
  if (rule.integer && !Number.isInteger(value)) return { code: 'TESTBED_READING_WRONG_TYPE', reason: `${rule.name} must be a whole number` };
  if (value < rule.min) return outOfRange(rule, raw, value, conversion, `at least ${rule.min}`);
  if (value > rule.max) return outOfRange(rule, raw, value, conversion, `at most ${rule.max}`);
  return value;
}

function outOfRange(rule: MeasurementRule, raw: number, value: number, conversion: Conversion, limit: string): Problem {
  const converted = conversion.identity ? '' : ` (${raw} ${conversion.unit} is ${value} ${rule.unit})`;
  return { code: 'TESTBED_READING_OUT_OF_RANGE', reason: `${rule.name} must be ${limit} ${rule.unit}${converted}` };
}

/** The conversion of a unit a measurement accepts, or the problem. */
export function unitOf(rule: MeasurementRule, unit: string): Conversion | Problem {
  return (
    rule.units.get(unit) ?? {
      code: 'TESTBED_READING_UNIT_NOT_ACCEPTED',
      reason: `${rule.name} in ${JSON.stringify(unit)}: its profile accepts ${rule.unitList}`,
    }
  );
}

/** A value outside the plausible range is stored, flagged as suspect. */
export function isSuspect(rule: MeasurementRule, value: number): boolean {
  return value < rule.plausibleMin || value > rule.plausibleMax;
}

export function isProblem(x: unknown): x is Problem {
  return typeof x === 'object' && x !== null && 'code' in x;
}
