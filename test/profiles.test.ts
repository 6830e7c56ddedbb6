import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TestbedError } from '../core/errors.js';
import type { DeviceContext } from '../core/model.js';
import { VECTOR_RECEIVED_AT, expectedReadings, vectorPayload } from '../device-profiles/format-vectors.js';
import { bundledProfilesDir, loadProfiles } from '../device-profiles/load.js';
import { createPipeline } from '../ingest/pipeline.js';
import { tempDir } from './helpers/tmp.js';

const profiles = loadProfiles();
// The window vectors are judged in: the gateway's defaults (TESTBED_MAX_FUTURE_SECONDS, TESTBED_MAX_AGE_DAYS).
const pipeline = createPipeline(profiles, { maxPayloadBytes: 16_384, maxFutureMs: 600_000, maxAgeMs: 365 * 86_400_000 });

let devices = 0;
/** A device of its own per vector, so the receipt clock stamps each with exactly its time of receipt. */
const contextOf = (profile: string): DeviceContext => ({
  deviceId: `dev_${profile}_${++devices}`,
  pilotId: 'pi_1',
  companyId: 'co_1',
  testbedId: 'helsinki',
  profile,
  pilotStartsAt: null,
  pilotEndsAt: null,
});

const iso = (ms: number) => new Date(ms).toISOString();

describe('device profiles', () => {
  it('ships at least twelve profiles, among them the air-quality, noise and weather ones', () => {
    expect([...profiles.keys()]).toEqual(expect.arrayContaining(['air-quality', 'noise', 'weather']));
    expect(profiles.size).toBeGreaterThanOrEqual(12);
  });

  for (const [id, compiled] of profiles) {
    describe(`${id} test vectors`, () => {
      const { tests, formats } = compiled.profile;

      it('has vectors that accept and vectors that reject, and an accepted vector in every format it takes', () => {
        expect(tests.some((t) => !t.reject)).toBe(true);
        expect(tests.some((t) => t.reject)).toBe(true);
        const accepted = tests.filter((t) => !t.reject);
        const formatOf = (t: (typeof tests)[number]) => (t.payloadHex !== undefined ? 'binary' : Array.isArray(t.payload) ? 'senml' : 'json');
        for (const format of formats) expect(accepted.map(formatOf), `an accepted ${format} vector`).toContain(format);
      });

      for (const vector of tests) {
        it(vector.name, () => {
          const receivedAt = Date.parse(vector.receivedAt ?? VECTOR_RECEIVED_AT);
          const outcome = pipeline.process(contextOf(id), vectorPayload(vector), receivedAt);
          const expected = expectedReadings(vector);
          if (!expected) {
            expect(outcome.readings).toEqual([]);
            expect(outcome.rejections.map((r) => r.code)).toEqual([vector.reject]);
            return;
          }
          const codes = vector.expectRejections ?? [];
          expect(outcome.rejections.map((r) => `${r.code}: ${r.reason}`)).toHaveLength(codes.length);
          expect(outcome.rejections.map((r) => r.code)).toEqual(codes);
          expect(outcome.readings.map((r) => ({ values: r.values, time: iso(r.time), suspect: r.suspect ?? [] }))).toEqual(
            expected.map((e) => ({ values: e.values, time: e.time ? iso(Date.parse(e.time)) : iso(receivedAt), suspect: e.suspect ?? [] })),
          );
        });
      }
    });
  }
});

describe('loading profiles', () => {
  const tmp = tempDir();
  afterEach(() => {
    for (const f of fs.readdirSync(tmp.dir)) fs.rmSync(path.join(tmp.dir, f));
  });

  const bundled = (id: string) => JSON.parse(fs.readFileSync(path.join(bundledProfilesDir(), `${id}.json`), 'utf8'));
  const write = (file: string, profile: unknown) => fs.writeFileSync(path.join(tmp.dir, file), JSON.stringify(profile));

  function problemsOf(): string {
    try {
      loadProfiles(tmp.dir);
    } catch (err) {
      expect(err).toBeInstanceOf(TestbedError);
      expect((err as TestbedError).code).toBe('TESTBED_PROFILE_INVALID');
      return (err as Error).message;
    }
    throw new Error('expected the profiles to be refused');
  }

  it('names the file and the problem of every broken profile', () => {
    write('noise.json', bundled('noise'));
    fs.writeFileSync(path.join(tmp.dir, 'broken.json'), '{ not json');
    const bad = bundled('weather');
    bad.measurements[0].range = { min: 10, max: 0 };
    bad.measurements.push({ name: 'device', quantity: 'count', unit: 'count', range: { min: 0, max: 1 } });
    write('weather.json', bad);
    const message = problemsOf();
    expect(message).toContain(`${path.join(tmp.dir, 'broken.json')}: not valid JSON`);
    expect(message).toContain(`${path.join(tmp.dir, 'weather.json')}: measurements.0.range: range.min must be below range.max`);
    expect(message).toContain('"device" is reserved');
    expect(message).not.toContain('noise.json');
  });

  it('requires the id to match the file name', () => {
    write('sound.json', bundled('noise'));
    expect(problemsOf()).toContain('id "noise" must match the file name');
  });

  it('refuses an empty folder', () => {
    expect(problemsOf()).toContain('no *.json device profiles');
  });

  it('checks quantities, canonical units, alternative units and the plausible range', () => {
    const p = bundled('weather');
    p.measurements[0].unit = '°F';
    p.measurements[1].quantity = 'wetness';
    p.measurements[2].alternativeUnits = ['Pa', 'km/h'];
    p.measurements[3].plausible = { min: 0, max: 90 };
    write('weather.json', p);
    const message = problemsOf();
    expect(message).toContain('measurements.0.unit: temperature is stored in °C, not °F; declare other units in alternativeUnits');
    expect(message).toMatch(/measurements\.1\.quantity: Invalid option/);
    expect(message).toContain('measurements.2.alternativeUnits.1: km/h is not an alternative unit of pressure (known: Pa, kPa, mmHg, inHg)');
    expect(message).toContain('measurements.3.plausible: the plausible range must lie inside the physical range');
  });

  it('checks a binary layout against the measurements and the other formats', () => {
    const p = bundled('indoor-air');
    delete p.binary.header;
    p.binary.fields[1].at = 2; // overlaps the temperature field
    p.binary.fields[2].measurement = 'pm25';
    p.binary.fields[3].unit = 'ppm';
    p.binary.length = 7;
    p.binary.fields.push({ measurement: 'co2', at: 30, type: 'float64' }, { measurement: 'co2', at: 0, type: 'float32' });
    write('indoor-air.json', p);
    const message = problemsOf();
    expect(message).toContain('binary.header: with JSON or SenML also accepted, binary payloads need a header');
    expect(message).toContain('binary.fields.1.at: the field overlaps the header or another field');
    expect(message).toContain('binary.fields.2.measurement: no measurement pm25 in this profile');
    expect(message).toContain("binary.fields.3.unit: ppm is neither battery_level's unit (%) nor one of its alternativeUnits");
    expect(message).toContain('binary.fields.4.at: the field ends at byte 38, beyond the payload length 7');
    expect(message).toContain('binary.fields.5.measurement: co2 has two fields');
  });

  it('requires a layout exactly when the formats include binary, and whole scales for integer measurements', () => {
    const noLayout = bundled('waste-bin');
    delete noLayout.binary;
    write('waste-bin.json', noLayout);
    const p = bundled('parking-occupancy');
    p.binary.fields[0].scale = 0.5;
    write('parking-occupancy.json', p);
    const message = problemsOf();
    expect(message).toContain('waste-bin.json: binary: formats include binary: give the binary layout');
    expect(message).toContain('binary.fields.0: occupied is an integer measurement: give its field a whole scale and offset in 1');
  });

  it('refuses a vector that expects both readings and a rejection, or names an unknown code', () => {
    const p = bundled('noise');
    p.tests = [
      { name: 'both', payload: { laeq: 1 }, expect: { laeq: 1 }, reject: 'TESTBED_READING_EMPTY' },
      { name: 'made up', payload: { laeq: 1 }, reject: 'TESTBED_READING_TOO_LOUD' },
    ];
    write('noise.json', p);
    const message = problemsOf();
    expect(message).toContain('tests.0: give exactly one of expect, expectReadings and reject');
    expect(message).toContain('tests.1.reject: must be a TESTBED_READING_* code of the error catalogue');
  });
});
