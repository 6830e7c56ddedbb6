import { describe, expect, it } from 'vitest';
import type { DeviceContext } from '../core/model.js';
import { compileProfile } from '../device-profiles/compile.js';
import { profileSchema } from '../device-profiles/format.js';
import { loadProfiles } from '../device-profiles/load.js';
import { createPipeline } from '../ingest/pipeline.js';

/**
 * SenML (RFC 8428) through the real pipeline. The examples of section 5.1 run
 * against a profile with their measurements, as published except that their
 * base times move from 2010/2011 into the accepted window.
 */
const rfcDevice = compileProfile(
  profileSchema.parse({
    formatVersion: 1,
    id: 'rfc8428-device',
    name: 'The devices of RFC 8428 section 5.1',
    formats: ['senml'],
    reportingIntervalSeconds: 60,
    measurements: [
      { name: 'temperature', quantity: 'temperature', unit: '°C', range: { min: -50, max: 60 } },
      { name: 'humidity', quantity: 'relative_humidity', unit: '%', range: { min: 0, max: 100 } },
      { name: 'latitude', quantity: 'latitude', unit: '°', range: { min: -90, max: 90 } },
      { name: 'longitude', quantity: 'longitude', unit: '°', range: { min: -180, max: 180 } },
      { name: 'battery_level', quantity: 'battery_level', unit: '%', range: { min: 0, max: 100 } },
      { name: 'voltage', quantity: 'voltage', unit: 'V', range: { min: 0, max: 1000 } },
      { name: 'current', quantity: 'current', unit: 'A', range: { min: 0, max: 100 } },
      { name: 'heat', quantity: 'state', unit: '1', type: 'integer', range: { min: 0, max: 1 } },
      { name: 'fan', quantity: 'state', unit: '1', type: 'integer', range: { min: 0, max: 1 } },
    ],
  }),
);
const profiles = new Map([...loadProfiles(), [rfcDevice.profile.id, rfcDevice]]);
const pipeline = createPipeline(profiles, { maxPayloadBytes: 16_384, maxFutureMs: 600_000, maxAgeMs: 365 * 86_400_000 });

/** 2026-01-15T08:00:00Z, in SenML seconds too. */
const NOW = Date.parse('2026-01-15T08:00:00Z');
const NOW_S = NOW / 1000;
let n = 0;
const ctx = (profile = 'rfc8428-device'): DeviceContext => ({
  deviceId: `dev_${++n}`,
  pilotId: 'pi',
  companyId: 'co',
  testbedId: 'helsinki',
  profile,
  pilotStartsAt: null,
  pilotEndsAt: null,
});
const run = (pack: unknown, profile?: string) => {
  const outcome = pipeline.process(ctx(profile), Buffer.from(typeof pack === 'string' ? pack : JSON.stringify(pack)), NOW);
  return {
    readings: outcome.readings.map((r) => ({ time: new Date(r.time).toISOString(), values: r.values, ...(r.suspect ? { suspect: r.suspect } : {}) })),
    rejections: outcome.rejections.map((r) => r.code),
    reasons: outcome.rejections.map((r) => r.reason),
  };
};
const at = (secondsFromNow: number) => new Date(NOW + secondsFromNow * 1000).toISOString();

describe('RFC 8428 section 5.1 examples', () => {
  it('5.1.1 single datapoint: the name is the device, the unit tells the measurement, the time is now', () => {
    // Published with its leading whitespace: the first non-space byte tells the format.
    expect(run('\n  [\n   {"n":"urn:dev:ow:10e2073a01080063","u":"Cel","v":23.1}\n  ]\n')).toEqual({
      readings: [{ time: at(0), values: { temperature: 23.1 } }],
      rejections: [],
      reasons: [],
    });
  });

  it('5.1.2 multiple datapoints, now', () => {
    expect(
      run([
        { bn: 'urn:dev:ow:10e2073a01080063:', n: 'voltage', u: 'V', v: 120.1 },
        { n: 'current', u: 'A', v: 1.2 },
      ]).readings,
    ).toEqual([{ time: at(0), values: { voltage: 120.1, current: 1.2 } }]);
  });

  it('5.1.2 multiple datapoints with base time, base unit, bver 5 and relative times', () => {
    const bt = NOW_S - 600 + 0.001;
    const result = run([
      { bn: 'urn:dev:ow:10e2073a0108006:', bt, bu: 'A', bver: 5, n: 'voltage', u: 'V', v: 120.1 },
      { n: 'current', t: -5, v: 1.2 },
      { n: 'current', t: -4, v: 1.3 },
      { n: 'current', t: -3, v: 1.4 },
      { n: 'current', t: -2, v: 1.5 },
      { n: 'current', t: -1, v: 1.6 },
      { n: 'current', v: 1.7 },
    ]);
    const base = NOW - 600_000 + 1;
    const t = (s: number) => new Date(base + s * 1000).toISOString();
    expect(result.rejections).toEqual([]);
    expect(result.readings).toEqual([
      { time: t(0), values: { voltage: 120.1, current: 1.7 } },
      { time: t(-5), values: { current: 1.2 } },
      { time: t(-4), values: { current: 1.3 } },
      { time: t(-3), values: { current: 1.4 } },
      { time: t(-2), values: { current: 1.5 } },
      { time: t(-1), values: { current: 1.6 } },
    ]);
  });

  it('5.1.4 multiple measurements: humidity, position and battery told apart by unit, each time one reading', () => {
    const bt = NOW_S - 300;
    const result = run([
      { bn: 'urn:dev:ow:10e2073a01080063', bt, bu: '%RH', v: 20 },
      { u: 'lon', v: 24.30621 },
      { u: 'lat', v: 60.07965 },
      { t: 60, v: 20.3 },
      { u: 'lon', t: 60, v: 24.30622 },
      { u: 'lat', t: 60, v: 60.07965 },
      { t: 120, v: 20.7 },
      { u: 'lon', t: 120, v: 24.30623 },
      { u: 'lat', t: 120, v: 60.07966 },
      { u: '%EL', t: 150, v: 98 },
      { t: 180, v: 21.2 },
      { u: 'lon', t: 180, v: 24.30628 },
      { u: 'lat', t: 180, v: 60.07967 },
    ]);
    expect(result.rejections).toEqual([]);
    expect(result.readings).toEqual([
      { time: at(-300), values: { humidity: 20, longitude: 24.30621, latitude: 60.07965 } },
      { time: at(-240), values: { humidity: 20.3, longitude: 24.30622, latitude: 60.07965 } },
      { time: at(-180), values: { humidity: 20.7, longitude: 24.30623, latitude: 60.07966 } },
      { time: at(-150), values: { battery_level: 98 } },
      { time: at(-120), values: { humidity: 21.2, longitude: 24.30628, latitude: 60.07967 } },
    ]);
  });

  it('5.1.5 resolved data reads the same as its packed form', () => {
    const bt = NOW_S - 300;
    const resolved = [
      { n: 'urn:dev:ow:10e2073a01080063', u: '%RH', t: bt, v: 20 },
      { n: 'urn:dev:ow:10e2073a01080063', u: 'lon', t: bt, v: 24.30621 },
      { n: 'urn:dev:ow:10e2073a01080063', u: 'lat', t: bt, v: 60.07965 },
      { n: 'urn:dev:ow:10e2073a01080063', u: '%EL', t: bt + 150, v: 98 },
    ];
    expect(run(resolved).readings).toEqual([
      { time: at(-300), values: { humidity: 20, longitude: 24.30621, latitude: 60.07965 } },
      { time: at(-150), values: { battery_level: 98 } },
    ]);
  });

  it('5.1.6 multiple data types: the number is stored, string, boolean and data values are rejected', () => {
    const result = run([
      { bn: 'urn:dev:ow:10e2073a01080063:', n: 'temp', u: 'Cel', v: 23.1 },
      { n: 'label', vs: 'Machine Room' },
      { n: 'open', vb: false },
      { n: 'nfc-reader', vd: 'aGkgCg' },
    ]);
    expect(result.readings).toEqual([{ time: at(0), values: { temperature: 23.1 } }]);
    expect(result.rejections).toEqual(['TESTBED_READING_WRONG_TYPE', 'TESTBED_READING_WRONG_TYPE', 'TESTBED_READING_WRONG_TYPE']);
    expect(result.reasons[0]).toContain('urn:dev:ow:10e2073a01080063:label');
  });

  it("5.1.7 collection of resources: base name changes, base time stays; a second device's values are duplicates of this one's", () => {
    const result = run([
      { bn: '2001:db8::2/', bt: NOW_S - 60, n: 'temperature', u: 'Cel', v: 25.2 },
      { n: 'humidity', u: '%RH', v: 30 },
      { bn: '2001:db8::1/', n: 'temperature', u: 'Cel', v: 12.3 },
      { n: 'humidity', u: '%RH', v: 67 },
    ]);
    expect(result.readings).toEqual([{ time: at(-60), values: { temperature: 25.2, humidity: 30 } }]);
    expect(result.rejections).toEqual(['TESTBED_READING_DUPLICATE_MEASUREMENT', 'TESTBED_READING_DUPLICATE_MEASUREMENT']);
  });

  it('5.1.8 setting an actuator: a record of base fields alone is no measurement', () => {
    expect(run([{ bn: 'urn:dev:ow:10e2073a01080063:' }, { n: 'temp', u: 'Cel', v: 23.1 }, { n: 'heat', u: '/', v: 1 }, { n: 'fan', u: '/', v: 0 }])).toEqual({
      readings: [{ time: at(0), values: { temperature: 23.1, heat: 1, fan: 0 } }],
      rejections: [],
      reasons: [],
    });
  });
});

describe('SenML packs', () => {
  it('adds base value and base sum (section 4.5.2)', () => {
    expect(
      run([
        { bv: 20, n: 'temperature', v: 1.5 },
        { bs: 100, n: 'voltage', s: 3 },
      ]).readings,
    ).toEqual([{ time: at(0), values: { temperature: 21.5, voltage: 103 } }]);
  });

  it('refuses the whole pack when it is not SenML', () => {
    for (const [pack, reason] of [
      ['[1, 2]', 'record 0 is not an object'],
      ['[{"n": 5, "v": 1}]', 'n must be a string'],
      ['[{"n": "temperature", "v": "21"}]', 'v must be a number'],
      ['[{"bt": "now", "n": "temperature", "v": 1}]', 'bt must be a number'],
      ['[{"n": "temperature", "v": 1, "vb": "yes"}]', 'vb must be true or false'],
      ['[{"bver": 11, "n": "temperature", "v": 1}]', 'bver 11 is not supported'],
      ['[{"n": "temperature", "v": 1, "ts_": 3}]', 'must-understand field ts_'],
    ] as const) {
      const result = run(pack);
      expect(result.rejections, pack).toEqual(['TESTBED_READING_BAD_SENML']);
      expect(result.reasons[0], pack).toContain(reason);
      expect(result.readings).toEqual([]);
    }
  });

  it('ignores fields it does not know that are not must-understand (section 4.4)', () => {
    expect(run([{ n: 'temperature', v: 1, ut: 60, note: 'calibrated' }]).readings).toEqual([{ time: at(0), values: { temperature: 1 } }]);
  });

  it('rejects records one by one and keeps the others', () => {
    const result = run([
      { bn: 'x:', n: 'temperature', v: 21 },
      { n: 'pressure', v: 1000 },
      { n: 'humidity', u: 'g/kg', v: 7 },
      { n: 'humidity', v: 150 },
      { n: 'heat', u: '/', v: 0.5 },
      { n: 'current' },
      { n: 'latitude', v: 60.1, t: 3600 },
    ]);
    expect(result.readings).toEqual([{ time: at(0), values: { temperature: 21 } }]);
    expect(result.rejections).toEqual([
      'TESTBED_READING_UNKNOWN_MEASUREMENT',
      'TESTBED_READING_UNIT_NOT_ACCEPTED',
      'TESTBED_READING_OUT_OF_RANGE',
      'TESTBED_READING_WRONG_TYPE',
      'TESTBED_READING_BAD_SENML',
      'TESTBED_READING_TIME_IN_FUTURE',
    ]);
    expect(result.reasons.slice(0, 4)).toEqual([
      'record 1: "x:pressure" names none of profile rfc8428-device\'s measurements (temperature, humidity, latitude, longitude, battery_level, voltage, current, heat, fan)',
      'record 2: humidity in "g/kg": its profile accepts %, %RH',
      'record 3: humidity must be at most 100 %',
      'record 4: heat must be a whole number',
    ]);
    expect(result.reasons[5]).toContain('(3600 s relative to receipt)');
  });

  it('says when no measurement takes a unit the name does not resolve', () => {
    const result = run([{ n: 'urn:dev:x', u: '%', v: 50 }]);
    expect(result.rejections).toEqual(['TESTBED_READING_UNKNOWN_MEASUREMENT']);
    expect(result.reasons[0]).toContain('no one measurement takes its unit "%"');
  });

  it('stamps the records without a time on receipt, with the receipt clock', () => {
    const c = ctx();
    const a = pipeline.process(c, Buffer.from('[{"n":"temperature","v":1}]'), NOW);
    const b = pipeline.process(c, Buffer.from('[{"n":"temperature","v":2},{"n":"voltage","v":3,"t":-1}]'), NOW);
    expect(a.readings.map((r) => r.time)).toEqual([NOW]);
    expect(b.readings.map((r) => r.time)).toEqual([NOW + 1, NOW - 1000]);
  });

  it('rejects an empty pack and one in a profile without SenML', () => {
    expect(run([]).rejections).toEqual(['TESTBED_READING_EMPTY']);
    expect(run([{ n: 'friction', v: 0.5 }], 'road-weather').rejections).toEqual(['TESTBED_READING_NOT_OBJECT']);
    expect(run({ temperature: 1 }).rejections).toEqual(['TESTBED_READING_FORMAT_NOT_ALLOWED']);
    expect(run('[{"n":"temperature","v":1}').rejections).toEqual(['TESTBED_READING_NOT_JSON']);
  });

  it('flags implausible values per reading', () => {
    expect(
      run(
        [
          { n: 'pm25', v: 700, t: -60 },
          { n: 'pm25', v: 7 },
        ],
        'air-quality',
      ).readings,
    ).toEqual([
      { time: at(-60), values: { pm25: 700 }, suspect: ['pm25'] },
      { time: at(0), values: { pm25: 7 } },
    ]);
  });
});
