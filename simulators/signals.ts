import type { Measurement, Profile } from '../device-profiles/format.js';
import { createEnvironment, type Conditions } from './environment.js';
import { createRandom, deriveSeed, ouStep, type Random } from './random.js';

/**
 * Plausible readings for any profile. A measurement is matched to the street
 * conditions by its quantity and unit (and, where one quantity covers several
 * things, such as PM2.5 and PM10, by its name); anything unmatched gets a
 * bounded random walk around the middle of its range. Every value is rounded
 * and kept inside the measurement's physical range, so a generated reading
 * always validates against its profile.
 */
export interface ReadingGenerator {
  /** One reading at `epochMs`: a value for every measurement of the profile. */
  next(epochMs: number): Record<string, number>;
}

/** What a measurement is read off, in its own unit, and to how many decimals. */
interface Known {
  readonly read: (c: Conditions) => number;
  readonly decimals: number;
  /** The band the signal usually stays in; a range that cannot hold it gets the generic signal instead. */
  readonly band: readonly [number, number];
}

const MICROGRAMS = new Set(['µg/m³', 'μg/m³', 'ug/m3', 'µg/m3', 'μg/m3']);

/** Quantities under their usual aliases. */
const QUANTITY: Record<string, string> = {
  temperature: 'temperature',
  air_temperature: 'temperature',
  relative_humidity: 'humidity',
  humidity: 'humidity',
  pressure: 'pressure',
  air_pressure: 'pressure',
  atmospheric_pressure: 'pressure',
  speed: 'speed',
  wind_speed: 'wind',
  mass_concentration: 'mass_concentration',
  sound_pressure_level: 'sound',
  sound_level: 'sound',
};

function temperature(unit: string): Known | undefined {
  const band = (lo: number, hi: number, f: (c: number) => number): Known => ({ read: (c) => f(c.temperatureC), decimals: 1, band: [f(lo), f(hi)] });
  if (['°C', 'C', 'degC', 'celsius'].includes(unit)) return band(-35, 35, (v) => v);
  if (unit === 'K') return band(-35, 35, (v) => v + 273.15);
  if (unit === '°F' || unit === 'F') return band(-35, 35, (v) => (v * 9) / 5 + 32);
  return undefined;
}

function particles(name: string): (c: Conditions) => number {
  if (/pm10/.test(name)) return (c) => c.pm25 + c.pmCoarse; // PM10 includes PM2.5, so it is never below it
  if (/pm2_?5/.test(name)) return (c) => c.pm25;
  if (/^pm1(_0)?$/.test(name)) return (c) => 0.7 * c.pm25;
  return (c) => c.trafficGas;
}

function sound(name: string): (c: Conditions) => number {
  if (/max/.test(name)) return (c) => c.laeq + c.laMaxExcess;
  if (/min/.test(name)) return (c) => c.laeq - c.laMinDeficit;
  return (c) => c.laeq;
}

/** The signal of a measurement, or undefined for the generic one. */
function knownSignal(m: Measurement): Known | undefined {
  const unit = m.unit.trim();
  switch (QUANTITY[m.quantity]) {
    case 'temperature':
      return temperature(unit);
    case 'humidity':
      if (unit === '%') return { read: (c) => c.relativeHumidity, decimals: 1, band: [10, 100] };
      return undefined;
    case 'pressure':
      if (unit === 'hPa' || unit === 'mbar') return { read: (c) => c.pressureHpa, decimals: 1, band: [950, 1060] };
      if (unit === 'kPa') return { read: (c) => c.pressureHpa / 10, decimals: 2, band: [95, 106] };
      if (unit === 'Pa') return { read: (c) => c.pressureHpa * 100, decimals: 0, band: [95_000, 106_000] };
      return undefined;
    case 'speed':
    case 'wind':
      // A bare "speed" is wind only when the name says so: a vehicle flow is not wind.
      if (m.quantity === 'speed' && !m.name.includes('wind')) return undefined;
      if (unit === 'm/s') return { read: (c) => c.windSpeedMs, decimals: 1, band: [0, 25] };
      if (unit === 'km/h') return { read: (c) => c.windSpeedMs * 3.6, decimals: 1, band: [0, 90] };
      return undefined;
    case 'mass_concentration':
      if (MICROGRAMS.has(unit)) return { read: particles(m.name), decimals: 1, band: [0, 150] };
      return undefined;
    case 'sound':
      if (unit === 'dB(A)' || unit === 'dBA' || unit === 'dB') return { read: sound(m.name), decimals: 1, band: [25, 100] };
      return undefined;
    default:
      return undefined;
  }
}

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

type Signal = (c: Conditions, epochMs: number) => number;

/** A bounded AR(1) around the middle of the range: wanders, never sticks to an edge. */
function genericSignal(m: Measurement, random: Random): Signal {
  const mid = (m.range.min + m.range.max) / 2;
  const sd = (m.range.max - m.range.min) / 12;
  const jitter = (m.range.max - m.range.min) / 400;
  let value: number | undefined;
  let last = 0;
  return (_c, epochMs) => {
    value = value === undefined ? mid + sd * random.gaussian() : ouStep(value, mid, sd, 2 * 3_600_000, epochMs - last, random);
    last = Math.max(last, epochMs);
    return value + jitter * random.gaussian();
  };
}

function signalFor(m: Measurement, seed: number): { signal: Signal; decimals: number } {
  const known = knownSignal(m);
  if (known && m.range.min <= known.band[0] && m.range.max >= known.band[1]) {
    return { signal: (c) => known.read(c), decimals: known.decimals };
  }
  return { signal: genericSignal(m, createRandom(deriveSeed(seed, `measurement:${m.name}`))), decimals: genericDecimals(m) };
}

/**
 * A generator of readings for one virtual device of `profile`. The same seed
 * gives the same sequence for the same times.
 */
export function createReadingGenerator(profile: Pick<Profile, 'measurements'>, seed: number): ReadingGenerator {
  const environment = createEnvironment(createRandom(deriveSeed(seed, 'environment')));
  const signals = profile.measurements.map((m) => ({ m, ...signalFor(m, seed) }));
  return {
    next(epochMs) {
      const c = environment.at(epochMs);
      const reading: Record<string, number> = {};
      for (const { m, signal, decimals } of signals) reading[m.name] = fitToRange(signal(c, epochMs), m, decimals);
      return reading;
    },
  };
}
