import { describe, expect, it } from 'vitest';
import { compileProfile } from '../device-profiles/compile.js';
import { profileSchema } from '../device-profiles/format.js';
import { loadProfiles } from '../device-profiles/load.js';
import { localTime } from '../simulators/calendar.js';
import { createRandom, deriveSeed } from '../simulators/random.js';
import { createReadingGenerator } from '../simulators/signals.js';

const profiles = loadProfiles();
const FIVE_MINUTES = 5 * 60_000;
const WINTER = Date.parse('2026-01-12T00:00:00Z'); // a Monday
const SUMMER = Date.parse('2026-07-06T00:00:00Z'); // a Monday

interface Sample { readonly t: number; readonly hour: number; readonly weekday: number; readonly r: Record<string, number> }

/** A simulated week of one device at 5-minute steps. */
function week(profileId: string, seed: number, start = WINTER): Sample[] {
  const generator = createReadingGenerator(profiles.get(profileId)!.profile, seed);
  const samples: Sample[] = [];
  for (let t = start; t < start + 7 * 86_400_000; t += FIVE_MINUTES) {
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

describe('simulated readings', () => {
  for (const [id, compiled] of profiles) {
    describe(`profile ${id}`, () => {
      for (const [season, start] of [['winter', WINTER], ['summer', SUMMER]] as const) {
        it(`validates every reading of a ${season} week`, () => {
          for (const seed of [1, 2, 3]) {
            for (const { r } of week(id, seed, start)) {
              const result = compiled.validate(r);
              if (!result.ok) expect.fail(`${JSON.stringify(r)}: ${result.reason}`);
              expect(Object.keys(r).sort()).toEqual(compiled.profile.measurements.map((m) => m.name).sort());
            }
          }
        });
      }

      it('gives every measurement a varying, autocorrelated signal (not a constant, not white noise)', () => {
        const samples = week(id, 7);
        for (const m of compiled.profile.measurements) {
          const xs = series(samples, m.name);
          expect(new Set(xs).size, m.name).toBeGreaterThan(20);
          expect(lag1(xs), m.name).toBeGreaterThan(0.5);
        }
      });
    });
  }

  it('warms up in the afternoon and cools down before dawn', () => {
    for (const [id, start] of [['weather', WINTER], ['weather', SUMMER], ['air-quality', SUMMER]] as const) {
      const samples = week(id, 11, start);
      const afternoon = meanWhere(samples, 'temperature', (s) => s.hour >= 13 && s.hour < 17);
      const preDawn = meanWhere(samples, 'temperature', (s) => s.hour >= 3 && s.hour < 6);
      expect(afternoon - preDawn, `${id} from ${new Date(start).toISOString()}`).toBeGreaterThan(2);
    }
    expect(mean(series(week('weather', 11, SUMMER), 'temperature'))).toBeGreaterThan(mean(series(week('weather', 11, WINTER), 'temperature')) + 10);
  });

  it('lowers relative humidity as the temperature rises', () => {
    const samples = week('weather', 5, SUMMER);
    expect(correlation(series(samples, 'temperature'), series(samples, 'humidity'))).toBeLessThan(-0.4);
  });

  it('raises particles at the weekday rush hours and keeps pm10 at or above pm25', () => {
    const samples = week('air-quality', 3);
    for (const { r } of samples) expect(r.pm10).toBeGreaterThanOrEqual(r.pm25!);
    const weekday = (s: Sample) => s.weekday >= 1 && s.weekday <= 5;
    const rush = (s: Sample) => weekday(s) && ((s.hour >= 7 && s.hour < 9) || (s.hour >= 16 && s.hour < 18));
    const night = (s: Sample) => weekday(s) && s.hour >= 1 && s.hour < 4;
    expect(meanWhere(samples, 'pm25', rush)).toBeGreaterThan(1.5 * meanWhere(samples, 'pm25', night));
    expect(meanWhere(samples, 'pm10', rush)).toBeGreaterThan(1.5 * meanWhere(samples, 'pm10', night));
  });

  it('is quieter at night than by day and keeps lamax at or above laeq', () => {
    const samples = week('noise', 9);
    for (const { r } of samples) expect(r.lamax).toBeGreaterThanOrEqual(r.laeq!);
    const night = meanWhere(samples, 'laeq', (s) => s.hour >= 0 && s.hour < 5);
    const day = meanWhere(samples, 'laeq', (s) => s.hour >= 9 && s.hour < 18);
    expect(day - night).toBeGreaterThan(8);
    expect(night).toBeGreaterThan(30);
    expect(day).toBeLessThan(80);
  });

  it('lets pressure wander slowly around 1013 hPa and keeps the wind gusty but never negative', () => {
    const samples = week('weather', 13);
    const pressure = series(samples, 'pressure');
    expect(Math.abs(mean(pressure) - 1013)).toBeLessThan(30);
    for (let i = 1; i < pressure.length; i++) expect(Math.abs(pressure[i]! - pressure[i - 1]!)).toBeLessThan(2);
    const wind = series(samples, 'wind_speed');
    expect(Math.min(...wind)).toBeGreaterThanOrEqual(0);
    expect(mean(wind)).toBeGreaterThan(1);
    expect(mean(wind)).toBeLessThan(10);
    // Gusts: readings five minutes apart differ by more than the slow wind changes.
    const steps = wind.slice(1).map((w, i) => Math.abs(w - wind[i]!));
    expect(mean(steps)).toBeGreaterThan(0.3);
  });

  it('falls back to a bounded random walk for unknown quantities and ranges too narrow for a known signal', () => {
    const compiled = compileProfile(
      profileSchema.parse({
        formatVersion: 1,
        id: 'odd',
        name: 'Odd',
        measurements: [
          { name: 'people', quantity: 'count', unit: '1', type: 'integer', range: { min: 0, max: 40 } },
          { name: 'indoor', quantity: 'temperature', unit: '°C', range: { min: 18, max: 26 } },
          { name: 'vehicle_speed', quantity: 'speed', unit: 'km/h', range: { min: 0, max: 0.5 } },
        ],
      }),
    );
    const generator = createReadingGenerator(compiled.profile, 21);
    const readings = Array.from({ length: 2016 }, (_, i) => generator.next(WINTER + i * FIVE_MINUTES));
    for (const r of readings) expect(compiled.validate(r).ok, JSON.stringify(r)).toBe(true);
    for (const name of ['people', 'indoor', 'vehicle_speed']) {
      const xs = readings.map((r) => r[name]!);
      expect(new Set(xs).size, name).toBeGreaterThan(5);
      expect(lag1(xs), name).toBeGreaterThan(0.5);
    }
    const indoor = readings.map((r) => r.indoor!);
    expect(Math.abs(mean(indoor) - 22)).toBeLessThan(2);
  });

  it('survives times that repeat or go backwards', () => {
    const compiled = profiles.get('weather')!;
    const generator = createReadingGenerator(compiled.profile, 4);
    for (const t of [WINTER, WINTER, WINTER - 3_600_000, WINTER + 1, WINTER + 365 * 86_400_000]) {
      expect(compiled.validate(generator.next(t)).ok).toBe(true);
    }
  });
});

describe('seeds', () => {
  it('repeats a sequence for the same seed and changes it for another', () => {
    for (const id of profiles.keys()) {
      expect(week(id, 42)).toEqual(week(id, 42));
      expect(week(id, 42)).not.toEqual(week(id, 43));
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
