import { type CompiledLayout, checkValue, isSuspect, type Problem, roundSignificant } from '../device-profiles/index.js';
import type { Decoded } from './decode.js';

/**
 * A binary payload read as its profile's layout says: exact length, header
 * bytes, then each field with its Buffer reader at its offset; value = raw ×
 * scale + offset in the field's unit, then converted and checked like any
 * other value. A field holding its `noValue` is left out. The payload is one
 * reading without a time of its own, so any problem rejects all of it.
 */
export function decodeBinary(layout: CompiledLayout, payload: Buffer): Decoded | Problem {
  if (payload.length !== layout.length) {
    return { code: 'TESTBED_READING_BAD_BINARY', reason: `the binary payload is ${payload.length} bytes; its layout has ${layout.length}` };
  }
  const header = layout.header;
  if (header && payload.compare(header, 0, header.length, 0, header.length) !== 0) {
    return {
      code: 'TESTBED_READING_BAD_BINARY',
      reason: `the binary payload starts with ${payload.subarray(0, header.length).toString('hex')}; its layout's header is ${header.toString('hex')}`,
    };
  }
  const values: Record<string, number> = {};
  let suspect: string[] | undefined;
  let problems: Problem[] | undefined;
  let count = 0;
  for (const f of layout.fields) {
    const raw = f.read.call(payload, f.at);
    if (raw === f.noValue) continue;
    let value = f.float32 ? roundSignificant(raw, 7) : raw;
    if (f.scaled) value = roundSignificant(value * f.scale + f.offset);
    const checked = checkValue(f.rule, value, f.conversion);
    if (typeof checked !== 'number') {
      (problems ??= []).push(checked);
      continue;
    }
    values[f.rule.name] = checked;
    count++;
    if (isSuspect(f.rule, checked)) (suspect ??= []).push(f.rule.name);
  }
  if (problems) return problems.length === 1 ? problems[0]! : { code: problems[0]!.code, reason: problems.map((p) => p.reason).join('; ') };
  if (count === 0) return { code: 'TESTBED_READING_EMPTY', reason: 'every field of the binary payload holds its no-value marker' };
  return { readings: [{ time: undefined, values, suspect }], problems: [] };
}
