import { isoTime } from '../core/index.js';
import {
  BINARY_TYPE_SIZES,
  layoutLength,
  type BinaryField,
  type BinaryType,
  type Measurement,
  type PayloadFormat,
  type Profile,
  acceptedUnits,
  fromCanonical,
  senmlSymbol,
  toCanonical,
  type Conversion,
} from '../device-profiles/index.js';

/**
 * Payloads as a device of a profile would send them, in any of its formats:
 * flat JSON, a SenML pack (RFC 8428) or its binary layout. Values come in
 * canonical units; with `units: 'alternative'` each measurement that declares
 * alternative units is sent in its first one, so the gateway has to convert.
 */
export type UnitChoice = 'canonical' | 'alternative';

export interface TimedValues {
  readonly values: Readonly<Record<string, number>>;
  /** Epoch ms; undefined: the payload carries no time and is stamped on receipt. */
  readonly time: number | undefined;
}

export interface Encoder {
  readonly format: PayloadFormat;
  /** One reading as one payload. Binary payloads carry no time. */
  encode(reading: TimedValues): Buffer;
  /** Several readings of a backlog as one SenML pack (only for profiles that take SenML). */
  encodePack(readings: readonly TimedValues[]): Buffer;
}

type Writer = (b: Buffer, value: number, at: number) => void;
const WRITERS: Record<BinaryType, { big: Writer; little: Writer }> = {
  int8: { big: (b, v, o) => b.writeInt8(v, o), little: (b, v, o) => b.writeInt8(v, o) },
  uint8: { big: (b, v, o) => b.writeUInt8(v, o), little: (b, v, o) => b.writeUInt8(v, o) },
  int16: { big: (b, v, o) => b.writeInt16BE(v, o), little: (b, v, o) => b.writeInt16LE(v, o) },
  uint16: { big: (b, v, o) => b.writeUInt16BE(v, o), little: (b, v, o) => b.writeUInt16LE(v, o) },
  int32: { big: (b, v, o) => b.writeInt32BE(v, o), little: (b, v, o) => b.writeInt32LE(v, o) },
  uint32: { big: (b, v, o) => b.writeUInt32BE(v, o), little: (b, v, o) => b.writeUInt32LE(v, o) },
  float32: { big: (b, v, o) => b.writeFloatBE(v, o), little: (b, v, o) => b.writeFloatLE(v, o) },
  float64: { big: (b, v, o) => b.writeDoubleBE(v, o), little: (b, v, o) => b.writeDoubleLE(v, o) },
};

/** The raw values a field type can hold; floats hold anything. */
export function rawLimits(type: BinaryType): readonly [number, number] {
  if (type === 'float32' || type === 'float64') return [-Number.MAX_VALUE, Number.MAX_VALUE];
  const bits = BINARY_TYPE_SIZES[type] * 8;
  return type.startsWith('u') ? [0, 2 ** bits - 1] : [-(2 ** (bits - 1)), 2 ** (bits - 1) - 1];
}

/** A field's raw value -> the canonical value the gateway will read from it. */
export function decodeRaw(field: BinaryField, measurement: Measurement, raw: number): number {
  const conversion = acceptedUnits(measurement.quantity, measurement.alternativeUnits).get(field.unit ?? measurement.unit)!;
  return toCanonical(raw * field.scale + field.offset, conversion);
}

/** A canonical value -> the raw value of a field: inverse scale and offset, rounded for integer types, kept inside the type and off the no-value marker. */
export function encodeRaw(field: BinaryField, measurement: Measurement, value: number): number {
  const conversion = acceptedUnits(measurement.quantity, measurement.alternativeUnits).get(field.unit ?? measurement.unit)!;
  const scaled = (fromCanonical(value, conversion) - field.offset) / field.scale;
  const [lo, hi] = rawLimits(field.type);
  if (field.type === 'float32' || field.type === 'float64') return scaled;
  let raw = Math.min(hi, Math.max(lo, Math.round(scaled)));
  // Rounding to the field's resolution must not carry a value at the edge of the range out of it.
  const { min, max } = measurement.range;
  const step = Math.sign(field.scale);
  if (decodeRaw(field, measurement, raw) > max) raw -= step;
  else if (decodeRaw(field, measurement, raw) < min) raw += step;
  if (raw === field.noValue) raw += raw > lo ? -1 : 1;
  return raw;
}

/** Writes a field's raw value at its offset. */
export function writeRaw(payload: Buffer, field: BinaryField, byteOrder: 'big' | 'little', raw: number): void {
  WRITERS[field.type][field.byteOrder ?? byteOrder](payload, raw, field.at);
}

export function createEncoder(
  profile: Pick<Profile, 'measurements' | 'binary'>,
  format: PayloadFormat,
  options: { units?: UnitChoice; baseName?: string } = {},
): Encoder {
  const sent = profile.measurements.map((m) => {
    const unit = options.units === 'alternative' ? (m.alternativeUnits[0] ?? m.unit) : m.unit;
    const conversion: Conversion = acceptedUnits(m.quantity, m.alternativeUnits).get(unit)!;
    return { m, unit, conversion, senml: senmlSymbol(m.quantity, unit) };
  });
  const byName = new Map(sent.map((s) => [s.m.name, s] as const));
  const layout = profile.binary;

  const json = ({ values, time }: TimedValues): Buffer => {
    const payload: Record<string, unknown> = {};
    const units: Record<string, string> = {};
    for (const [name, value] of Object.entries(values)) {
      const s = byName.get(name);
      payload[name] = s ? fromCanonical(value, s.conversion) : value;
      if (s && !s.conversion.identity) units[name] = s.unit;
    }
    if (Object.keys(units).length > 0) payload.units = units;
    if (time !== undefined) payload.time = isoTime(time);
    return Buffer.from(JSON.stringify(payload));
  };

  const pack = (readings: readonly TimedValues[]): Buffer => {
    const records: Record<string, unknown>[] = [];
    const baseTime = readings[0]?.time;
    for (const { values, time } of readings) {
      for (const [name, value] of Object.entries(values)) {
        const s = byName.get(name);
        const record: Record<string, unknown> = {};
        if (records.length === 0 && options.baseName) record.bn = options.baseName;
        if (records.length === 0 && baseTime !== undefined) record.bt = baseTime / 1000;
        record.n = name;
        if (s) record.u = s.senml;
        record.v = s ? fromCanonical(value, s.conversion) : value;
        // Times after the first relative to the base time (RFC 8428 section 4.5.3).
        if (time !== undefined && baseTime !== undefined && time !== baseTime) record.t = (time - baseTime) / 1000;
        records.push(record);
      }
    }
    return Buffer.from(JSON.stringify(records));
  };

  const binary = ({ values }: TimedValues): Buffer => {
    if (!layout) throw new Error('this profile has no binary layout');
    const payload = Buffer.alloc(layoutLength(layout));
    if (layout.header) Buffer.from(layout.header, 'hex').copy(payload);
    for (const field of layout.fields) {
      const m = byName.get(field.measurement)!.m;
      const value = values[field.measurement];
      const raw = value === undefined ? (field.noValue ?? 0) : encodeRaw(field, m, value);
      writeRaw(payload, field, layout.byteOrder, raw);
    }
    return payload;
  };

  return {
    format,
    encode: format === 'binary' ? binary : format === 'senml' ? (r) => pack([r]) : json,
    encodePack: pack,
  };
}
