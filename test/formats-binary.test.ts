import { describe, expect, it } from 'vitest';
import type { DeviceContext } from '../core/model.js';
import { compileProfile } from '../device-profiles/compile.js';
import { BINARY_TYPE_SIZES, type BinaryType } from '../device-profiles/format-binary.js';
import { profileSchema } from '../device-profiles/format.js';
import { createPipeline } from '../ingest/pipeline.js';

/** A profile with one field of every type, in both byte orders: written with Buffer's writers, read by the layout. */
const TYPES = Object.keys(BINARY_TYPE_SIZES) as BinaryType[];
const fields: { measurement: string; at: number; type: BinaryType; byteOrder: 'big' | 'little' }[] = [];
let at = 1;
for (const type of TYPES) {
  for (const byteOrder of ['big', 'little'] as const) {
    fields.push({ measurement: `${type}_${byteOrder}`, at, type, byteOrder });
    at += BINARY_TYPE_SIZES[type];
  }
}
const LENGTH = at;
const everyType = compileProfile(
  profileSchema.parse({
    formatVersion: 1,
    id: 'every-type',
    name: 'Every field type',
    formats: ['binary', 'json'],
    reportingIntervalSeconds: 60,
    measurements: fields.map((f) => ({ name: f.measurement, quantity: 'length', unit: 'm', range: { min: -1e20, max: 1e20 } })),
    binary: { header: 'a5', fields },
  }),
);
const scaled = compileProfile(
  profileSchema.parse({
    formatVersion: 1,
    id: 'scaled',
    name: 'Scale, offset, unit and no-value markers',
    formats: ['binary'],
    reportingIntervalSeconds: 60,
    measurements: [
      { name: 'temperature', quantity: 'temperature', unit: '°C', range: { min: -50, max: 60 }, alternativeUnits: ['K'] },
      { name: 'level', quantity: 'length', unit: 'm', range: { min: -10, max: 10 }, plausible: { min: 0, max: 5 }, alternativeUnits: ['mm'] },
      { name: 'count', quantity: 'count', unit: 'count', type: 'integer', range: { min: 0, max: 100 } },
    ],
    binary: {
      byteOrder: 'little',
      fields: [
        { measurement: 'temperature', at: 0, type: 'uint16', scale: 0.01, unit: 'K' },
        { measurement: 'level', at: 2, type: 'int16', offset: -1000, unit: 'mm', noValue: -32768 },
        { measurement: 'count', at: 4, type: 'uint8', noValue: 255 },
      ],
    },
  }),
);
const pipeline = createPipeline(
  new Map([
    [everyType.profile.id, everyType],
    [scaled.profile.id, scaled],
  ]),
  { maxPayloadBytes: 1024, maxFutureMs: 60_000, maxAgeMs: 86_400_000 },
);
const NOW = Date.parse('2026-03-01T12:00:00Z');
const ctx = (profile: string): DeviceContext => ({
  deviceId: 'd',
  pilotId: 'p',
  companyId: 'c',
  testbedId: 'oulu',
  profile,
  pilotStartsAt: null,
  pilotEndsAt: null,
});
const run = (profile: string, payload: Buffer) => pipeline.process(ctx(profile), payload, NOW);

const WRITE: Record<BinaryType, (b: Buffer, v: number, at: number, big: boolean) => void> = {
  int8: (b, v, o) => b.writeInt8(v, o),
  uint8: (b, v, o) => b.writeUInt8(v, o),
  int16: (b, v, o, big) => (big ? b.writeInt16BE(v, o) : b.writeInt16LE(v, o)),
  uint16: (b, v, o, big) => (big ? b.writeUInt16BE(v, o) : b.writeUInt16LE(v, o)),
  int32: (b, v, o, big) => (big ? b.writeInt32BE(v, o) : b.writeInt32LE(v, o)),
  uint32: (b, v, o, big) => (big ? b.writeUInt32BE(v, o) : b.writeUInt32LE(v, o)),
  float32: (b, v, o, big) => (big ? b.writeFloatBE(v, o) : b.writeFloatLE(v, o)),
  float64: (b, v, o, big) => (big ? b.writeDoubleBE(v, o) : b.writeDoubleLE(v, o)),
};
/** Values that exercise sign, width and byte order: the extremes of each type. */
const SAMPLE: Record<BinaryType, number> = {
  int8: -128,
  uint8: 255,
  int16: -32768,
  uint16: 65535,
  int32: -2147483648,
  uint32: 4294967295,
  float32: -1234.5,
  float64: 123456.789012345,
};

describe('binary payloads', () => {
  it('read every integer and float type in both byte orders as the layout says', () => {
    const payload = Buffer.alloc(LENGTH);
    payload[0] = 0xa5;
    for (const f of fields) WRITE[f.type](payload, SAMPLE[f.type], f.at, f.byteOrder === 'big');
    const outcome = run('every-type', payload);
    expect(outcome.rejections).toEqual([]);
    expect(outcome.readings[0]!.values).toEqual(Object.fromEntries(fields.map((f) => [f.measurement, SAMPLE[f.type]])));
    expect(outcome.readings[0]!.time).toBe(NOW);
  });

  it('take a JSON object alongside, told apart by the first byte', () => {
    expect(run('every-type', Buffer.from('{"int8_big": 5}')).readings[0]!.values).toEqual({ int8_big: 5 });
    expect(run('every-type', Buffer.from(' \n{"int8_big": 5}')).readings[0]!.values).toEqual({ int8_big: 5 });
    expect(run('every-type', Buffer.alloc(LENGTH)).rejections.map((r) => r.code)).toEqual(['TESTBED_READING_BAD_BINARY']);
  });

  it('apply scale and offset in the field unit, then convert to the canonical unit', () => {
    const payload = Buffer.alloc(5);
    payload.writeUInt16LE(29315, 0); // 293.15 K
    payload.writeInt16LE(3500, 2); // 3500 - 1000 = 2500 mm
    payload.writeUInt8(42, 4);
    expect(run('scaled', payload).readings[0]).toMatchObject({ values: { temperature: 20, level: 2.5, count: 42 } });
    payload.writeInt16LE(7000, 2); // 6 m: stored, suspect
    expect(run('scaled', payload).readings[0]).toMatchObject({ values: { temperature: 20, level: 6, count: 42 }, suspect: ['level'] });
  });

  it('leave out a field holding its no-value marker; all of them is an empty reading', () => {
    const payload = Buffer.alloc(5);
    payload.writeUInt16LE(29315, 0);
    payload.writeInt16LE(-32768, 2);
    payload.writeUInt8(255, 4);
    expect(run('scaled', payload).readings[0]!.values).toEqual({ temperature: 20 });
  });

  it('reject a payload whose values break the profile, whatever its bytes', () => {
    const payload = Buffer.alloc(5);
    payload.writeUInt16LE(40000, 0); // 400 K = 126.85 °C
    payload.writeUInt8(101, 4);
    const [rejection] = run('scaled', payload).rejections;
    expect(rejection?.code).toBe('TESTBED_READING_OUT_OF_RANGE');
    expect(rejection?.reason).toBe('temperature must be at most 60 °C (400 K is 126.85 °C); count must be at most 100 count');
    expect(rejection).toMatchObject({ payloadEncoding: 'base64', payload: payload.toString('base64'), payloadBytes: 5 });
  });

  it("read a binary-only profile's payload as binary even when it starts like JSON", () => {
    const payload = Buffer.from('{"a"}');
    expect(run('scaled', payload).rejections.map((r) => r.code)).toEqual(['TESTBED_READING_OUT_OF_RANGE']);
    expect(run('scaled', Buffer.from('{}')).rejections.map((r) => r.reason)).toEqual(['the binary payload is 2 bytes; its layout has 5']);
  });

  it('are data: a profile cannot carry a decoder or anything else the format does not name', () => {
    const withCode = {
      formatVersion: 1,
      id: 'sneaky',
      name: 'Sneaky',
      formats: ['binary'],
      reportingIntervalSeconds: 60,
      measurements: [{ name: 'x', quantity: 'count', unit: 'count', range: { min: 0, max: 1 } }],
      binary: { fields: [{ measurement: 'x', at: 0, type: 'uint8', decode: 'process.exit(1)' }], decoder: 'function (bytes) { return {} }' },
    };
    const parsed = profileSchema.safeParse(withCode);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([
      'binary.fields.0: Unrecognized key: "decode"',
      'binary: Unrecognized key: "decoder"',
    ]);
  });
});
