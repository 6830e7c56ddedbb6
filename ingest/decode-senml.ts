import { type CompiledProfile, type MeasurementRule, checkValue, isSuspect, unitOf, type Problem } from '../device-profiles/index.js';
import type { Decoded, DecodedReading } from './decode.js';
import { isoOrRaw } from './normalise.js';

/** RFC 8428 section 4.5.3: a time below 2^28 s is relative to now. */
const RELATIVE_BELOW = 2 ** 28;
/** RFC 8428 section 4.4: bver defaults to 10, the version this decoder reads. */
const MAX_VERSION = 10;
/** The "roughly now" group: records without a time are stamped on receipt. */
const NOW = Number.NaN;

type Group = { time: number | undefined; timeHint: string | undefined; values: Record<string, number>; suspect: string[] | undefined };

const bad = (reason: string): Problem => ({ code: 'TESTBED_READING_BAD_SENML', reason });
const atRecord = (i: number, p: Problem): Problem => ({ code: p.code, reason: `record ${i}: ${p.reason}` });

/** The measurement a resolved name ends in: `urn:dev:ow:10e2073a01080063:temperature` and `2001:db8::2/temperature` end in `temperature`. */
function lastSegment(name: string): string {
  const cut = Math.max(name.lastIndexOf(':'), name.lastIndexOf('/'));
  return cut < 0 ? name : name.slice(cut + 1);
}

/**
 * A SenML pack (RFC 8428, JSON representation) -> one reading per distinct time.
 *
 * Base fields (bn, bt, bu, bv, bs) apply to their record and the ones after it
 * (section 4.1). A record's resolved name is bn + n; its measurement is the
 * name's last segment after `:` or `/`, or, when that names none, the one
 * measurement of the profile that accepts the record's unit (the examples of
 * section 5.1.4 name the device and tell the quantity by the unit). The unit
 * (u, else bu, else the canonical one) must be one the measurement accepts;
 * the value (bv + v, or bs + s for a sum) is converted to the canonical unit.
 * The time is bt + t in seconds; below 2^28 it is relative to receipt and 0
 * means "roughly now" (section 4.5.3).
 *
 * A pack that is not valid SenML is one problem for the whole message; a record
 * that cannot be used is a problem of its own and the rest are kept.
 */
export function decodeSenml(profile: CompiledProfile, pack: unknown, receivedAt: number): Decoded | Problem {
  if (!Array.isArray(pack)) return bad('a SenML pack is a JSON array of records');
  let bn = '';
  let bt = 0;
  let bu: string | undefined;
  let bv = 0;
  let bs = 0;
  const groups = new Map<number, Group>();
  let problems: Problem[] | undefined;
  const fail = (p: Problem) => (problems ??= []).push(p);

  for (let i = 0; i < pack.length; i++) {
    const rec = pack[i] as Record<string, unknown>;
    if (rec === null || typeof rec !== 'object' || Array.isArray(rec)) return bad(`record ${i} is not an object`);
    for (const key in rec)
      if (key.endsWith('_')) return bad(`record ${i} has the must-understand field ${key}, which this gateway does not understand (RFC 8428 section 4.4)`);
    const typeError = fieldTypeError(rec);
    if (typeError) return bad(`record ${i}: ${typeError}`);
    if (rec.bver !== undefined && (!Number.isInteger(rec.bver) || (rec.bver as number) < 1 || (rec.bver as number) > MAX_VERSION)) {
      return bad(`record ${i}: bver ${String(rec.bver)} is not supported (at most ${MAX_VERSION})`);
    }
    if (rec.bn !== undefined) bn = rec.bn as string;
    if (rec.bt !== undefined) bt = rec.bt as number;
    if (rec.bu !== undefined) bu = rec.bu as string;
    if (rec.bv !== undefined) bv = rec.bv as number;
    if (rec.bs !== undefined) bs = rec.bs as number;

    const n = rec.n as string | undefined;
    let raw: number;
    if (rec.v !== undefined) raw = bv + (rec.v as number);
    else if (rec.s !== undefined) raw = bs + (rec.s as number);
    else if (rec.vs !== undefined || rec.vb !== undefined || rec.vd !== undefined) {
      fail({
        code: 'TESTBED_READING_WRONG_TYPE',
        reason: `record ${i} (${bn + (n ?? '')}) has a ${rec.vs !== undefined ? 'string' : rec.vb !== undefined ? 'boolean' : 'data'} value; measurements are numbers (v)`,
      });
      continue;
    } else if (n === undefined)
      continue; // base fields only (section 5.1.7 opens with one)
    else {
      fail(bad(`record ${i} (${bn + n}) has no value (v) or sum (s)`));
      continue;
    }

    const name = bn + (n ?? '');
    const unit = (rec.u as string | undefined) ?? bu;
    const rule = profile.rules.get(lastSegment(name)) ?? (unit === undefined ? undefined : profile.byUnit.get(unit));
    if (!rule) {
      const byUnit = unit === undefined ? '' : `, and no one measurement takes its unit ${JSON.stringify(unit)}`;
      fail({
        code: 'TESTBED_READING_UNKNOWN_MEASUREMENT',
        reason: `record ${i}: ${JSON.stringify(name)} names none of profile ${profile.profile.id}'s measurements (${profile.names})${byUnit}`,
      });
      continue;
    }
    const conversion = unit === undefined ? rule.canonical : unitOf(rule, unit);
    if ('code' in conversion) {
      fail(atRecord(i, conversion));
      continue;
    }
    const value = checkValue(rule, raw, conversion);
    if (typeof value !== 'number') {
      fail(atRecord(i, value));
      continue;
    }
    const group = groupAt(groups, bt + ((rec.t as number | undefined) ?? 0), receivedAt);
    if (Object.hasOwn(group.values, rule.name)) {
      fail({
        code: 'TESTBED_READING_DUPLICATE_MEASUREMENT',
        reason: `record ${i}: ${rule.name} is given twice for ${group.time === undefined ? 'the time of receipt' : isoOrRaw(group.time)}; the first is kept`,
      });
      continue;
    }
    add(group, rule, value);
  }

  const readings: DecodedReading[] = [...groups.values()];
  if (readings.length === 0 && !problems)
    return { code: 'TESTBED_READING_EMPTY', reason: `the pack has no records of ${profile.profile.id}'s measurements (${profile.names})` };
  return { readings, problems: problems ?? [] };
}

function add(group: Group, rule: MeasurementRule, value: number): void {
  group.values[rule.name] = value;
  if (isSuspect(rule, value)) (group.suspect ??= []).push(rule.name);
}

function groupAt(groups: Map<number, Group>, seconds: number, receivedAt: number): Group {
  let time: number | undefined;
  let hint: string | undefined;
  if (seconds >= RELATIVE_BELOW) {
    time = Math.round(seconds * 1000);
    if (seconds > 1e11) hint = ' (it looks like epoch milliseconds; SenML times are seconds, RFC 8428 section 4.5.3)';
  } else if (seconds !== 0) {
    time = receivedAt + Math.round(seconds * 1000);
    hint = ` (${seconds} s relative to receipt)`;
  }
  const key = time ?? NOW;
  let group = groups.get(key);
  if (!group) {
    group = { time, timeHint: hint, values: {}, suspect: undefined };
    groups.set(key, group);
  }
  return group;
}

const STRING_FIELDS = ['bn', 'bu', 'n', 'u', 'vs', 'vd'] as const;
const NUMBER_FIELDS = ['bt', 'bv', 'bs', 'bver', 'v', 's', 't', 'ut'] as const;

/** The first field of a record with the wrong JSON type (RFC 8428 section 6, table 4), if any. */
function fieldTypeError(rec: Record<string, unknown>): string | undefined {
  for (const f of STRING_FIELDS) if (rec[f] !== undefined && typeof rec[f] !== 'string') return `${f} must be a string`;
  for (const f of NUMBER_FIELDS) if (rec[f] !== undefined && (typeof rec[f] !== 'number' || !Number.isFinite(rec[f]))) return `${f} must be a number`;
  if (rec.vb !== undefined && typeof rec.vb !== 'boolean') return 'vb must be true or false';
  return undefined;
}
