import { describe, expect, it } from 'vitest';
import type { DeviceContext } from '../core/model.js';
import { compileProfile } from '../device-profiles/compile.js';
import { profileSchema, type PayloadFormat } from '../device-profiles/format.js';
import { acceptedUnits } from '../device-profiles/units.js';
import { loadProfiles } from '../device-profiles/load.js';
import { createPipeline } from '../ingest/pipeline.js';
import { isSchoolDay, localTime } from '../simulators/calendar.js';
import { createEncoder } from '../simulators/encode.js';
import { createRandom, deriveSeed } from '../simulators/random.js';
import { createReadingGenerator } from '../simulators/signals.js';
import { createCityWeather, type CityWeather } from '../simulators/weather.js';

const profiles = loadProfiles();
const pipeline = createPipeline(profiles, { maxPayloadBytes: 16_384, maxFutureMs: 600_000, maxAgeMs: 365 * 86_400_000 });
const FIFTEEN_MINUTES = 15 * 60_000;
const WINTER = Date.parse('2026-01-12T00:00:00Z'); // a Monday in term
const SUMMER = Date.parse('2026-07-06T00:00:00Z'); // a Monday in the summer holidays
const AUTUMN = Date.parse('2026-10-05T00:00:00Z'); // a Monday in term

interface Sample {
  readonly t: number;
  readonly hour: number;
  readonly weekday: number;
  readonly r: Record<string, number>;
}

/** A simulated week of one device, one reading per step. */
function week(profileId: string, seed: number, start = WINTER, weather?: CityWeather, step = FIFTEEN_MINUTES): Sample[] {
  const generator = createReadingGenerator(profiles.get(profileId)!.profile, seed, { weather });
  const samples: Sample[] = [];
  for (let t = start; t < start + 7 * 86_400_000; t += step) {
    const { hour, weekday } = localTime(t);
    samples.push({ t, hour, weekday, r: generator.next(t) });
  }
  return samples;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
function correlation(xs: number[], ys: number[]): number {
  const mx = mean(xs);
  const my = mean(ys);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < xs.length; i++) {
    sxy += (xs[i]! - mx) * (ys[i]! - my);
    sxx += (xs[i]! - mx) ** 2;
    syy += (ys[i]! - my) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
}
const lag1 = (xs: number[]) => correlation(xs.slice(0, -1), xs.slice(1));
const series = (samples: Sample[], name: string) => samples.map((s) => s.r[name]!);
const meanWhere = (samples: Sample[], name: string, keep: (s: Sample) => boolean) => mean(series(samples.filter(keep), name));
const weekday = (s: Sample) => s.weekday >= 1 && s.weekday <= 5;
let devices = 0;
const ctx = (profile: string): DeviceContext => ({
  deviceId: `sim_${++devices}`,
  pilotId: 'p',
  companyId: 'c',
  testbedId: 'helsinki',
  profile,
  pilotStartsAt: null,
  pilotEndsAt: null,
});

describe('simulated readings', () => {
  for (const [id, compiled] of profiles) {
    describe(`profile ${id}`, () => {
      for (const format of compiled.profile.formats as PayloadFormat[]) {
        for (const units of ['canonical', 'alternative'] as const) {
          it(`pass the gateway in ${format}, ${units} units, winter and summer, and read back as sent`, () => {
            const encoder = createEncoder(compiled.profile, format, { units, baseName: 'sim:' });
            for (const start of [WINTER, SUMMER]) {
              const device = ctx(id);
              for (const { t, r } of week(id, 3, start, undefined, 2 * FIFTEEN_MINUTES)) {
                const outcome = pipeline.process(device, encoder.encode({ values: r, time: t }), t + 500);
                if (outcome.rejections.length > 0) expect.fail(`${JSON.stringify(r)}: ${outcome.rejections[0]!.reason}`);
                expect(outcome.readings).toHaveLength(1);
                const stored = outcome.readings[0]!;
                expect(stored.time).toBe(format === 'binary' ? t + 500 : t);
                for (const m of compiled.profile.measurements) {
                  // Binary fields hold a value to their resolution; a unit converted there and back to 12 digits.
                  const field = compiled.profile.binary?.fields.find((f) => f.measurement === m.name);
                  const unitScale = field ? acceptedUnits(m.quantity, m.alternativeUnits).get(field.unit ?? m.unit)!.scale : 1;
                  const resolution = format === 'binary' ? Math.abs(field!.scale * unitScale) : 1e-9;
                  expect(Math.abs(stored.values[m.name]! - r[m.name]!), `${m.name} ${r[m.name]} -> ${stored.values[m.name]}`).toBeLessThanOrEqual(
                    resolution * 1.01 + 1e-9,
                  );
                }
              }
            }
          });
        }
      }

      it('varies every measurement over a week, and no reading is implausible', () => {
        const samples = week(id, 7, AUTUMN);
        for (const m of compiled.profile.measurements) {
          const xs = series(samples, m.name);
          expect(new Set(xs).size, m.name).toBeGreaterThan(1);
          const { min, max } = m.plausible ?? m.range;
          expect(Math.min(...xs), m.name).toBeGreaterThanOrEqual(min);
          expect(Math.max(...xs), m.name).toBeLessThanOrEqual(max);
        }
      });
    });
  }

  it('gives weather and air signals that wander, not white noise', () => {
    for (const [id, names] of [
      ['weather', ['temperature', 'humidity', 'pressure']],
      ['air-quality', ['pm25', 'no2', 'temperature']],
      ['road-weather', ['surface_temperature']],
    ] as const) {
      const samples = week(id, 7, AUTUMN);
      for (const name of names) expect(lag1(series(samples, name)), `${id} ${name}`).toBeGreaterThan(0.5);
    }
  });

  it('warms up in the afternoon and cools down before dawn, and summer is warmer', () => {
    for (const [id, start] of [
      ['weather', WINTER],
      ['weather', SUMMER],
      ['air-quality', SUMMER],
    ] as const) {
      const samples = week(id, 11, start);
      const afternoon = meanWhere(samples, 'temperature', (s) => s.hour >= 13 && s.hour < 17);
      const preDawn = meanWhere(samples, 'temperature', (s) => s.hour >= 3 && s.hour < 6);
      expect(afternoon - preDawn, `${id} from ${new Date(start).toISOString()}`).toBeGreaterThan(1.5);
    }
    expect(mean(series(week('weather', 11, SUMMER), 'temperature'))).toBeGreaterThan(mean(series(week('weather', 11, WINTER), 'temperature')) + 10);
  });

  it('lowers relative humidity as the temperature rises', () => {
    const samples = week('weather', 5, SUMMER);
    expect(correlation(series(samples, 'temperature'), series(samples, 'humidity'))).toBeLessThan(-0.4);
  });

  it('raises particles and traffic at the weekday rush hours; pm10 is never below pm25', () => {
    const air = week('air-quality', 3);
    for (const { r } of air) expect(r.pm10).toBeGreaterThanOrEqual(r.pm25!);
    const rush = (s: Sample) => weekday(s) && ((s.hour >= 7 && s.hour < 9) || (s.hour >= 16 && s.hour < 18));
    const night = (s: Sample) => weekday(s) && s.hour >= 1 && s.hour < 4;
    expect(meanWhere(air, 'pm25', rush)).toBeGreaterThan(1.5 * meanWhere(air, 'pm25', night));
    expect(meanWhere(air, 'no2', rush)).toBeGreaterThan(2 * meanWhere(air, 'no2', night));
    const traffic = week('traffic-counter', 3, WINTER, undefined, 60_000 * 5);
    expect(meanWhere(traffic, 'vehicles', rush)).toBeGreaterThan(4 * meanWhere(traffic, 'vehicles', night));
    expect(meanWhere(traffic, 'mean_speed', rush)).toBeLessThan(meanWhere(traffic, 'mean_speed', night));
    const bikes = week('bicycle-counter', 3, AUTUMN);
    expect(meanWhere(bikes, 'bicycles_in', (s) => weekday(s) && s.hour >= 7 && s.hour < 9)).toBeGreaterThan(
      2 * meanWhere(bikes, 'bicycles_in', (s) => weekday(s) && s.hour >= 16 && s.hour < 18),
    );
  });

  it('is quieter at night than by day and keeps lamax at or above laeq', () => {
    const samples = week('noise', 9);
    for (const { r } of samples) expect(r.lamax).toBeGreaterThanOrEqual(r.laeq!);
    expect(meanWhere(samples, 'laeq', (s) => s.hour >= 9 && s.hour < 18) - meanWhere(samples, 'laeq', (s) => s.hour >= 0 && s.hour < 5)).toBeGreaterThan(8);
  });

  it('fills classrooms with CO2 in school hours only', () => {
    const term = week('indoor-air', 4, AUTUMN);
    const lessons = (s: Sample) => isSchoolDay(localTime(s.t)) && s.hour >= 10 && s.hour < 14;
    expect(meanWhere(term, 'co2', lessons)).toBeGreaterThan(900);
    expect(meanWhere(term, 'co2', (s) => s.hour >= 0 && s.hour < 6)).toBeLessThan(500);
    expect(meanWhere(term, 'co2', (s) => !weekday(s))).toBeLessThan(500);
    expect(Math.max(...series(week('indoor-air', 4, SUMMER), 'co2'))).toBeLessThan(500); // summer holidays
  });

  it('fills parking spaces by day, empties buildings at night, empties bins on collection rounds', () => {
    const parking = week('parking-occupancy', 5, AUTUMN, undefined, 10 * 60_000);
    expect(meanWhere(parking, 'occupied', (s) => weekday(s) && s.hour >= 9 && s.hour < 16)).toBeGreaterThan(
      meanWhere(parking, 'occupied', (s) => s.hour >= 1 && s.hour < 5) + 0.2,
    );
    const people = week('people-counter', 5, AUTUMN, undefined, 5 * 60_000);
    expect(Math.min(...series(people, 'occupancy'))).toBe(0);
    expect(meanWhere(people, 'occupancy', (s) => s.hour >= 2 && s.hour < 6)).toBeLessThan(1);
    expect(meanWhere(people, 'occupancy', (s) => weekday(s) && s.hour >= 12 && s.hour < 17)).toBeGreaterThan(20);
    const bins = [...week('waste-bin', 5, AUTUMN, undefined, 3_600_000), ...week('waste-bin', 5, AUTUMN + 7 * 86_400_000, undefined, 3_600_000)];
    const fills = series(bins, 'fill_level');
    const emptied = fills.findIndex((f, i) => i > 0 && f < fills[i - 1]! - 50);
    expect(emptied).toBeGreaterThan(0);
    expect(bins[emptied]!.r.tilt).toBeGreaterThan(100);
  });

  it('runs batteries down and keeps trackers moving inside their city', () => {
    const beacon = createReadingGenerator(profiles.get('safety-beacon')!.profile, 8);
    const start = beacon.next(AUTUMN).battery_voltage!;
    expect(beacon.next(AUTUMN + 300 * 86_400_000).battery_voltage!).toBeLessThan(start - 0.05);
    const trips = week('gps-tracker', 8, AUTUMN, createCityWeather(1, 'oulu'), 30_000 * 10);
    expect(Math.abs(mean(series(trips, 'latitude')) - 65.0121)).toBeLessThan(0.05);
    const level = series(trips, 'battery_level');
    expect(level.some((v, i) => i > 0 && v < level[i - 1]!)).toBe(true);
    expect(meanWhere(trips, 'speed', (s) => s.hour >= 9 && s.hour < 20)).toBeGreaterThan(2);
    expect(meanWhere(trips, 'speed', (s) => s.hour >= 0 && s.hour < 5)).toBe(0);
  });

  it('lets the sensors of one city agree on its weather, and other cities have their own', () => {
    const helsinki = createCityWeather(42, 'helsinki');
    const mast = series(week('weather', 1, WINTER, helsinki), 'temperature');
    const street = series(week('air-quality', 2, WINTER, helsinki), 'temperature');
    const road = series(week('road-weather', 3, WINTER, helsinki), 'air_temperature');
    expect(correlation(mast, street)).toBeGreaterThan(0.95);
    expect(correlation(mast, road)).toBeGreaterThan(0.95);
    expect(Math.abs(mean(mast) - mean(street))).toBeLessThan(1.5);
    const alone = series(week('weather', 1, WINTER), 'temperature'); // a city of its own
    expect(correlation(mast, alone)).toBeLessThan(0.9);
    expect(mean(series(week('weather', 1, WINTER, createCityWeather(42, 'oulu')), 'temperature'))).toBeLessThan(mean(mast) - 2);
  });

  it('gives a city the same weather whatever order its devices ask in', () => {
    const a = createCityWeather(9, 'turku');
    const b = createCityWeather(9, 'turku');
    const times = Array.from({ length: 50 }, (_, i) => AUTUMN + i * 3_600_000);
    const forward = times.map((t) => a.at(t));
    const backward = [...times]
      .reverse()
      .map((t) => b.at(t))
      .reverse();
    expect(backward).toEqual(forward);
  });

  it('pressure wanders slowly around 1012 hPa; the wind is gusty but never negative', () => {
    const samples = week('weather', 13, AUTUMN, undefined, 5 * 60_000);
    const pressure = series(samples, 'pressure');
    expect(Math.abs(mean(pressure) - 1012)).toBeLessThan(30);
    for (let i = 1; i < pressure.length; i++) expect(Math.abs(pressure[i]! - pressure[i - 1]!)).toBeLessThan(2);
    const wind = series(samples, 'wind_speed');
    expect(Math.min(...wind)).toBeGreaterThanOrEqual(0);
    expect(mean(wind)).toBeGreaterThan(1);
    expect(mean(wind)).toBeLessThan(10);
    expect(mean(wind.slice(1).map((w, i) => Math.abs(w - wind[i]!)))).toBeGreaterThan(0.3);
  });

  it('falls back to a bounded random walk for unknown measurements and ranges too narrow for a known signal', () => {
    const compiled = compileProfile(
      profileSchema.parse({
        formatVersion: 1,
        id: 'odd',
        name: 'Odd',
        reportingIntervalSeconds: 300,
        measurements: [
          { name: 'visitors', quantity: 'count', unit: 'count', type: 'integer', range: { min: 0, max: 40 } },
          { name: 'fridge', quantity: 'temperature', unit: '°C', range: { min: 0, max: 10 } },
          { name: 'vehicle_speed', quantity: 'speed', unit: 'm/s', range: { min: 0, max: 0.5 } },
        ],
      }),
    );
    const odd = new Map([['odd', compiled]]);
    const oddPipeline = createPipeline(odd, { maxPayloadBytes: 1024, maxFutureMs: 60_000, maxAgeMs: 86_400_000 });
    const generator = createReadingGenerator(compiled.profile, 21);
    const readings = Array.from({ length: 2016 }, (_, i) => generator.next(WINTER + i * 5 * 60_000));
    for (const [i, r] of readings.entries()) {
      expect(oddPipeline.process(ctx('odd'), Buffer.from(JSON.stringify(r)), WINTER + i * 5 * 60_000).rejections).toEqual([]);
    }
    for (const name of ['visitors', 'fridge', 'vehicle_speed']) {
      const xs = readings.map((r) => r[name]!);
      expect(new Set(xs).size, name).toBeGreaterThan(5);
      expect(lag1(xs), name).toBeGreaterThan(0.5);
    }
    expect(Math.abs(mean(readings.map((r) => r.fridge!)) - 5)).toBeLessThan(1.5);
  });

  it('survives times that repeat or go backwards', () => {
    const generator = createReadingGenerator(profiles.get('people-counter')!.profile, 4);
    for (const t of [WINTER, WINTER, WINTER - 3_600_000, WINTER + 1, WINTER + 365 * 86_400_000]) {
      const r = generator.next(t);
      expect(pipeline.process(ctx('people-counter'), Buffer.from(JSON.stringify(r)), WINTER).rejections).toEqual([]);
    }
  });
});

describe('seeds', () => {
  it('repeats a sequence for the same seed and changes it for another', () => {
    for (const id of profiles.keys()) {
      expect(week(id, 42, WINTER, undefined, 3_600_000)).toEqual(week(id, 42, WINTER, undefined, 3_600_000));
      expect(week(id, 42, WINTER, undefined, 3_600_000)).not.toEqual(week(id, 43, WINTER, undefined, 3_600_000));
    }
  });

  it('gives a uniform and a standard normal stream, derived seeds independent', () => {
    const random = createRandom(123);
    const uniforms = Array.from({ length: 20_000 }, () => random.next());
    expect(Math.min(...uniforms)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...uniforms)).toBeLessThan(1);
    expect(mean(uniforms)).toBeCloseTo(0.5, 1);
    const normals = Array.from({ length: 20_000 }, () => random.gaussian());
    expect(mean(normals)).toBeCloseTo(0, 1);
    expect(mean(normals.map((x) => x * x))).toBeCloseTo(1, 1);
    expect(deriveSeed(1, 'a')).toBe(deriveSeed(1, 'a'));
    expect(new Set([deriveSeed(1, 'a'), deriveSeed(1, 'b'), deriveSeed(2, 'a'), deriveSeed(1, 0), deriveSeed(1, 1)]).size).toBe(5);
  });
});
