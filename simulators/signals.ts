import type { Measurement, Profile } from '../device-profiles/index.js';
import { createEnvironment, type Conditions } from './environment.js';
import { createRandom, deriveSeed, ouStep, type Random } from './random.js';
import { createActivity } from './signals-activity.js';
import { streetSignal } from './signals-street.js';
import { CITY_CENTRE, type CityWeather } from './weather.js';

/**
 * Plausible readings for any profile. A measurement is read off its device's
 * conditions by its quantity and name (signals-street.ts: weather, air, noise,
 * road, water) or comes from an activity model (signals-activity.ts: counts,
 * occupancy, CO2, batteries, meters, positions); anything else gets a bounded
 * random walk around the middle of its range. Every value is rounded and kept
 * inside the measurement's physical range, so a generated reading always
 * passes its profile.
 */
export interface ReadingGenerator {
  /** One reading at `epochMs`, in canonical units: a value for every measurement of the profile. */
  next(epochMs: number): Record<string, number>;
}

export interface GeneratorOptions {
  /** The weather of the device's city, shared with the city's other devices; default: a city of its own. */
  readonly weather?: CityWeather;
}

type Signal = (c: Conditions, epochMs: number) => number;

/** Rounds, then keeps the value inside the physical range (whole numbers for integer measurements). */
export function fitToRange(value: number, m: Measurement, decimals: number): number {
  const integer = m.type === 'integer';
  const lo = integer ? Math.ceil(m.range.min) : m.range.min;
  const hi = integer ? Math.floor(m.range.max) : m.range.max;
  if (!Number.isFinite(value)) return integer ? Math.round((lo + hi) / 2) : (lo + hi) / 2;
  const scale = 10 ** (integer ? 0 : decimals);
  const rounded = Math.round(value * scale) / scale;
  return Math.min(hi, Math.max(lo, rounded));
}

/** Decimals that resolve about a thousandth of the range. */
function genericDecimals(m: Measurement): number {
  return Math.min(6, Math.max(0, Math.ceil(-Math.log10((m.range.max - m.range.min) / 1000))));
}

/** A bounded AR(1) around the middle of the plausible range: wanders, never sticks to an edge. */
function genericSignal(m: Measurement, random: Random): Signal {
  const { min, max } = m.plausible ?? m.range;
  const mid = (min + max) / 2;
  const sd = (max - min) / 12;
  const jitter = (max - min) / 400;
  let value: number | undefined;
  let last = 0;
  return (_c, epochMs) => {
    value = value === undefined ? mid + sd * random.gaussian() : ouStep(value, mid, sd, 2 * 3_600_000, epochMs - last, random);
    last = Math.max(last, epochMs);
    return value + jitter * random.gaussian();
  };
}

/**
 * A generator of readings for one virtual device of `profile`. The same seed
 * (and city weather) gives the same sequence for the same times.
 */
export function createReadingGenerator(
  profile: Pick<Profile, 'measurements'> & Partial<Pick<Profile, 'reportingIntervalSeconds'>>,
  seed: number,
  options: GeneratorOptions = {},
): ReadingGenerator {
  const environment = createEnvironment(createRandom(deriveSeed(seed, 'environment')), options.weather);
  // A room, not a street: the profile measures CO2.
  const indoor = profile.measurements.some((m) => m.quantity === 'volume_fraction');
  const activity = createActivity({
    seed,
    intervalMs: (profile.reportingIntervalSeconds ?? 60) * 1000,
    home: CITY_CENTRE[options.weather?.city ?? 'helsinki'] ?? CITY_CENTRE.helsinki!,
    measurements: profile.measurements,
    indoor,
  });
  const signals = profile.measurements.map((m) => {
    const street = streetSignal(m, indoor);
    const fits = street && m.range.min <= street.band[0] && m.range.max >= street.band[1];
    const known = street ? (fits ? { signal: (c: Conditions) => street.read(c), decimals: street.decimals } : undefined) : activity(m);
    const { signal, decimals } = known ?? { signal: genericSignal(m, createRandom(deriveSeed(seed, `measurement:${m.name}`))), decimals: genericDecimals(m) };
    return { m, signal, decimals };
  });
  return {
    next(epochMs) {
      const c = environment.at(epochMs);
      const reading: Record<string, number> = {};
      for (const { m, signal, decimals } of signals) reading[m.name] = fitToRange(signal(c, epochMs), m, decimals);
      return reading;
    },
  };
}
