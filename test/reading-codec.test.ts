import { describe, expect, it } from 'vitest';
import { decodeRecord, encodeRecord, readingsOfBatch, RECORD_SEPARATOR, type MessageKey } from '../store/index.js';
import type { Reading, Rejection } from '../store/index.js';

const base: Reading = {
  deviceId: 'dev_abc',
  pilotId: 'pil_1',
  companyId: 'com_1',
  testbedId: 'espoo',
  profile: 'air-quality',
  time: Date.UTC(2026, 10, 1, 12),
  values: { pm25: 5.2, pm10: 9 },
};
const at = Date.UTC(2026, 10, 1, 12, 0, 1);
const key: MessageKey = ['dev_abc', 65535, 4294967295];

const roundTrip = (readings: Reading[], rejections: Rejection[] = [], k?: MessageKey) => {
  const bytes = encodeRecord(at, readings, rejections, k);
  return { bytes, json: JSON.parse(bytes.toString('utf8')) as unknown, decoded: decodeRecord(bytes.toString('utf8')) };
};

describe('journal record codec', () => {
  it('writes one reading as the compact record: tags once, the reading as [time, values], the key', () => {
    const { json, decoded } = roundTrip([base], [], key);
    expect(json).toEqual({
      a: at,
      t: ['dev_abc', 'pil_1', 'com_1', 'espoo', 'air-quality', null],
      r: [[base.time, { pm25: 5.2, pm10: 9 }]],
      k: ['dev_abc', 65535, 4294967295],
    });
    expect(decoded).toEqual({ at, readings: [base], rejections: [], key });
  });

  it('reads back every flag, a device name outside ASCII, and a key of another device', () => {
    const flagged: Reading = { ...base, deviceId: 'dev_ä', deviceName: 'Ilmanlaatu Töölö "2"', suspect: ['pm25'], stuck: ['pm10'], gap: true };
    const other: MessageKey = ['dev_other', 1, 0];
    expect(roundTrip([flagged], [], other).decoded).toEqual({ at, readings: [flagged], rejections: [], key: other });
    const suspectOnly: Reading = { ...base, suspect: ['pm10'] };
    expect(roundTrip([suspectOnly]).decoded).toEqual({ at, readings: [suspectOnly], rejections: [], key: undefined });
    const stuckOnly: Reading = { ...base, stuck: ['pm25', 'pm10'] };
    expect(roundTrip([stuckOnly]).json).toMatchObject({ r: [[base.time, base.values, 0, ['pm25', 'pm10']]] });
    expect(roundTrip([stuckOnly]).decoded?.readings).toEqual([stuckOnly]);
  });

  it('reads back several readings, readings of other tags and rejections', () => {
    const second: Reading = { ...base, time: base.time + 1000, values: { pm25: 0 } };
    const foreign: Reading = { ...base, pilotId: 'pil_2' };
    const rejection: Rejection = {
      deviceId: 'dev_abc',
      pilotId: 'pil_1',
      companyId: 'com_1',
      testbedId: 'espoo',
      time: at,
      code: 'TESTBED_READING_OUT_OF_RANGE',
      reason: 'pm25 must be at most 1000 µg/m³',
      payload: '{"pm25":5000}',
      payloadEncoding: 'utf8',
      payloadBytes: 13,
    };
    expect(roundTrip([base, second, foreign], [rejection], key).decoded).toEqual({ at, readings: [base, second, foreign], rejections: [rejection], key });
    expect(roundTrip([], [rejection]).decoded).toEqual({ at, readings: [], rejections: [rejection], key: undefined });
  });

  it('writes times and identifiers of any size exactly, and records larger than its first buffer', () => {
    const late: Reading = { ...base, time: Number.MAX_SAFE_INTEGER, values: Object.fromEntries(Array.from({ length: 400 }, (_, i) => [`m${i}`, i + 0.5])) };
    const { bytes, decoded } = roundTrip([late], [], ['dev_abc', 0, 0]);
    expect(bytes.length).toBeGreaterThan(4096);
    expect(decoded).toEqual({ at, readings: [late], rejections: [], key: ['dev_abc', 0, 0] });
    for (const time of [0, 9, 10, 99, 100, 1e15]) expect(roundTrip([{ ...base, time }]).decoded?.readings[0]?.time).toBe(time);
  });

  it('keeps each record as written while later ones are encoded, text outside ASCII and records of any size included', () => {
    const readings = Array.from({ length: 3000 }, (_, i): Reading => ({
      ...base,
      time: base.time + i,
      values: i % 7 === 0 ? { 'lämpötila_°C': i / 10, pm25: i } : { pm25: i, pm10: -i },
    }));
    readings[1500] = { ...readings[1500]!, values: Object.fromEntries(Array.from({ length: 6000 }, (_, i) => [`m${i}`, i])) };
    const records = readings.map((r, i) => encodeRecord(at + i, [r], [], ['dev_abc', i, i * 7]));
    expect(records[1500]!.length).toBeGreaterThan(64 * 1024);
    records.forEach((record, i) =>
      expect(decodeRecord(record.toString('utf8'))).toEqual({ at: at + i, readings: [readings[i]], rejections: [], key: ['dev_abc', i, i * 7] }),
    );
  });

  it('reads a batch of records back as their readings, in order, whatever their text holds', () => {
    const named: Reading = { ...base, deviceId: 'dev_ö', deviceName: 'line one\nline two, "Töölö"', time: base.time + 1 };
    const pair = [
      { ...base, time: base.time + 2 },
      { ...base, time: base.time + 3, values: { pm25: 1 }, suspect: ['pm25'] },
    ];
    const records = [
      encodeRecord(at, [base], [], key),
      encodeRecord(at, [named], [], undefined),
      encodeRecord(at, [], [rejectionOf(base)], undefined),
      encodeRecord(at, pair, [], key),
    ];
    // The separator never occurs inside a record, so a newline in a name cannot split one.
    for (const record of records) expect(record.includes(RECORD_SEPARATOR)).toBe(false);
    const batch = Buffer.concat(records.flatMap((r) => [r, Buffer.of(RECORD_SEPARATOR)]));
    expect(readingsOfBatch(batch)).toEqual([base, named, ...pair]);
    expect(readingsOfBatch(Buffer.alloc(0))).toEqual([]);
  });
});

function rejectionOf(r: Reading): Rejection {
  return {
    deviceId: r.deviceId,
    pilotId: r.pilotId,
    companyId: r.companyId,
    testbedId: r.testbedId,
    time: r.time,
    code: 'TESTBED_READING_OUT_OF_RANGE',
    reason: 'pm25 must be at most 1000',
    payload: '{}',
    payloadEncoding: 'utf8',
    payloadBytes: 2,
  };
}
