import { layoutLength, type BinaryLayout, type BinaryType } from './format-binary.js';
import type { Measurement, PayloadFormat, Profile } from './format.js';
import { acceptedUnits, type Conversion } from './units.js';

/**
 * A profile compiled for the hot path, once, at load: per measurement its
 * limits and the conversions of the units it accepts; for binary payloads the
 * Buffer reader of every field. Decoding a message then only looks things up.
 */
export interface MeasurementRule {
  readonly name: string;
  /** The canonical unit. */
  readonly unit: string;
  readonly integer: boolean;
  readonly min: number;
  readonly max: number;
  readonly plausibleMin: number;
  readonly plausibleMax: number;
  /** The canonical unit's conversion (the identity). */
  readonly canonical: Conversion;
  /** Every unit spelling the measurement accepts -> its conversion to the canonical unit. */
  readonly units: ReadonlyMap<string, Conversion>;
  /** The accepted units, for reasons: "°C, Cel, degC, °F, degF". */
  readonly unitList: string;
}

/** A Buffer reader, e.g. Buffer.prototype.readInt16BE. */
export type BufferReader = (this: Buffer, offset?: number) => number;

export interface CompiledField {
  readonly rule: MeasurementRule;
  readonly at: number;
  readonly read: BufferReader;
  readonly scale: number;
  readonly offset: number;
  readonly conversion: Conversion;
  readonly noValue: number | undefined;
  /** float32 carries about 7 significant digits; more would be the float's noise. */
  readonly float32: boolean;
  /** raw × scale + offset needs rounding (scale or offset is not the identity). */
  readonly scaled: boolean;
}

export interface CompiledLayout {
  readonly header: Buffer | undefined;
  readonly length: number;
  readonly fields: readonly CompiledField[];
}

export interface CompiledProfile {
  readonly profile: Profile;
  readonly measurements: ReadonlyMap<string, Measurement>;
  readonly rules: ReadonlyMap<string, MeasurementRule>;
  readonly accepts: Readonly<Record<PayloadFormat, boolean>>;
  /** The accepted formats, for reasons: "json, senml". */
  readonly formatList: string;
  readonly binary: CompiledLayout | undefined;
  /** The measurement names, for reasons: "pm25, pm10, temperature". */
  readonly names: string;
  /**
   * A unit spelling -> the one measurement that accepts it: a SenML record whose
   * name is a device's (RFC 8428 section 5.1.4) is matched by its unit. Units
   * that several measurements accept are left out.
   */
  readonly byUnit: ReadonlyMap<string, MeasurementRule>;
}

const READERS: Record<BinaryType, { big: BufferReader; little: BufferReader }> = {
  int8: { big: Buffer.prototype.readInt8, little: Buffer.prototype.readInt8 },
  uint8: { big: Buffer.prototype.readUInt8, little: Buffer.prototype.readUInt8 },
  int16: { big: Buffer.prototype.readInt16BE, little: Buffer.prototype.readInt16LE },
  uint16: { big: Buffer.prototype.readUInt16BE, little: Buffer.prototype.readUInt16LE },
  int32: { big: Buffer.prototype.readInt32BE, little: Buffer.prototype.readInt32LE },
  uint32: { big: Buffer.prototype.readUInt32BE, little: Buffer.prototype.readUInt32LE },
  float32: { big: Buffer.prototype.readFloatBE, little: Buffer.prototype.readFloatLE },
  float64: { big: Buffer.prototype.readDoubleBE, little: Buffer.prototype.readDoubleLE },
};

export function compileRule(m: Measurement): MeasurementRule {
  const units = acceptedUnits(m.quantity, m.alternativeUnits);
  return {
    name: m.name,
    unit: m.unit,
    integer: m.type === 'integer',
    min: m.range.min,
    max: m.range.max,
    plausibleMin: m.plausible?.min ?? m.range.min,
    plausibleMax: m.plausible?.max ?? m.range.max,
    canonical: units.get(m.unit)!,
    units,
    unitList: [...units.keys()].join(', '),
  };
}

function compileLayout(layout: BinaryLayout, rules: ReadonlyMap<string, MeasurementRule>): CompiledLayout {
  const fields = layout.fields.map((f): CompiledField => {
    const rule = rules.get(f.measurement)!;
    return {
      rule,
      at: f.at,
      read: READERS[f.type][f.byteOrder ?? layout.byteOrder],
      scale: f.scale,
      offset: f.offset,
      conversion: rule.units.get(f.unit ?? rule.unit)!,
      noValue: f.noValue,
      float32: f.type === 'float32',
      scaled: f.scale !== 1 || f.offset !== 0,
    };
  });
  return { header: layout.header === undefined ? undefined : Buffer.from(layout.header, 'hex'), length: layoutLength(layout), fields };
}

function unitIndex(rules: Iterable<MeasurementRule>): Map<string, MeasurementRule> {
  const index = new Map<string, MeasurementRule>();
  const ambiguous = new Set<string>();
  for (const rule of rules) {
    for (const unit of rule.units.keys()) {
      if (index.has(unit)) ambiguous.add(unit);
      index.set(unit, rule);
    }
  }
  for (const unit of ambiguous) index.delete(unit);
  return index;
}

/** Compiles a profile that passed `profileSchema` (so its layout and units are known to fit). */
export function compileProfile(profile: Profile): CompiledProfile {
  const rules = new Map(profile.measurements.map((m) => [m.name, compileRule(m)] as const));
  return {
    profile,
    measurements: new Map(profile.measurements.map((m) => [m.name, m] as const)),
    rules,
    accepts: { json: profile.formats.includes('json'), senml: profile.formats.includes('senml'), binary: profile.formats.includes('binary') },
    formatList: profile.formats.join(', '),
    binary: profile.binary ? compileLayout(profile.binary, rules) : undefined,
    names: profile.measurements.map((m) => m.name).join(', '),
    byUnit: unitIndex(rules.values()),
  };
}
