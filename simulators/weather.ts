import { dailyCycle, localTime, season } from './calendar.js';
import { deriveSeed } from './random.js';

/**
 * A city's weather: what every weather-dependent sensor of one testbed reads
 * off, so a street's air-quality station, the weather mast on the roof and a
 * road sensor agree on the cold spell, the rain and the wind.
 *
 * It is a pure function of the time and the seed (smooth value noise: random
 * values at fixed knots on the epoch's time grid, interpolated), so any number
 * of devices may ask in any order and get the same weather; nothing is
 * advanced per call.
 */
export interface Weather {
  readonly temperatureC: number;
  readonly relativeHumidity: number;
  readonly pressureHpa: number;
  /** Mean wind over a few minutes, before gusts; never negative. */
  readonly windSpeedMs: number;
  /** Where the wind blows from, degrees clockwise from north, in [0, 360). */
  readonly windDirection: number;
  /** Precipitation intensity, mm/h; 0 most of the time. */
  readonly precipitationMmH: number;
  /** A slow log factor of pollution: inversions and long-range episodes. */
  readonly episode: number;
  /** A slow log factor of road dust. */
  readonly dust: number;
  /** Clear sky, 0 (overcast) to 1 (clear): sun by day, radiative cooling by night. */
  readonly clearSky: number;
  /** Sea level against the mean, metres (wind setup and the Baltic's slow swings). */
  readonly seaLevelM: number;
}

export interface CityWeather {
  readonly city: string;
  at(epochMs: number): Weather;
}

/** What sets the cities apart: annual mean offset from Helsinki's climate (°C) and a colder winter inland and north. */
export const CITY_CLIMATE: Readonly<Record<string, { readonly offset: number; readonly winter: number; readonly coast: boolean }>> = {
  helsinki: { offset: 0, winter: 0, coast: true },
  espoo: { offset: -0.1, winter: -0.3, coast: true },
  vantaa: { offset: -0.4, winter: -0.8, coast: false },
  turku: { offset: 0.3, winter: 0, coast: true },
  tampere: { offset: -1.2, winter: -1.5, coast: false },
  oulu: { offset: -2.5, winter: -4, coast: true },
};

const HOUR = 3_600_000;

/** One layer of value noise: a standard normal value at every knot, smoothly interpolated. */
function layer(seed: number, label: string, periodMs: number): (t: number) => number {
  const base = deriveSeed(seed, label);
  const knot = (k: number): number => {
    // Box-Muller from two hashed uniforms: the knot's value depends only on (seed, label, k).
    const u1 = (deriveSeed(base, k) + 0.5) / 4294967296;
    const u2 = deriveSeed(base, -k - 1) / 4294967296;
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  };
  return (t) => {
    const x = t / periodMs;
    const k = Math.floor(x);
    const f = x - k;
    const s = f * f * (3 - 2 * f); // smoothstep: no kinks at the knots
    return knot(k) * (1 - s) + knot(k + 1) * s;
  };
}

/** Several layers: slow spells plus faster wobbles; `sd` of each in the variable's unit. */
function noise(seed: number, label: string, parts: readonly (readonly [periodHours: number, sd: number])[]): (t: number) => number {
  const layers = parts.map(([hours, sd]) => ({ f: layer(seed, `${label}:${hours}`, hours * HOUR), sd }));
  return (t) => layers.reduce((sum, l) => sum + l.sd * l.f(t), 0);
}

/** The weather of `city` (a testbed id; unknown cities get Helsinki's climate) for `seed`. */
export function createCityWeather(seed: number, city = 'helsinki'): CityWeather {
  const climate = CITY_CLIMATE[city] ?? CITY_CLIMATE.helsinki!;
  const s = deriveSeed(seed, `weather:${city}`);
  const spell = noise(s, 'temperature', [
    [60, 2.6],
    [14, 1.1],
    [3, 0.35],
  ]);
  const damp = noise(s, 'damp', [
    [30, 5],
    [6, 3],
  ]);
  const pressure = noise(s, 'pressure', [
    [90, 7],
    [24, 3.5],
  ]);
  const wind = noise(s, 'wind', [
    [20, 0.35],
    [4, 0.2],
  ]);
  const direction = noise(s, 'direction', [
    [36, 70],
    [6, 25],
  ]);
  const rain = noise(s, 'rain', [
    [16, 1],
    [3, 0.5],
  ]);
  const cloud = noise(s, 'cloud', [
    [20, 1],
    [4, 0.4],
  ]);
  const episode = noise(s, 'episode', [
    [30, 0.35],
    [8, 0.15],
  ]);
  const dust = noise(s, 'dust', [
    [20, 0.3],
    [5, 0.12],
  ]);
  const sea = noise(s, 'sea', [
    [120, 0.18],
    [30, 0.1],
  ]);

  return {
    city,
    at(t) {
      const local = localTime(t);
      const summer = season(local.dayOfYear);
      const cycle = dailyCycle(local.hour);
      const clearSky = 1 / (1 + Math.exp(1.6 * cloud(t)));
      // Helsinki-like: about -6 °C in late January, 17 °C in late July; clear days swing more.
      const swing = (1.5 + 3.5 * summer) * (0.5 + clearSky);
      const temperatureC = -6 + climate.offset + climate.winter * (1 - summer) + 23 * summer + swing * cycle + spell(t);
      // The air holds about the same water over a day, so relative humidity falls as it warms.
      const humidity = 86 - 14 * summer - 3 * swing * cycle - 1.5 * spell(t) + damp(t) - 8 * (clearSky - 0.5);
      const windSpeedMs = Math.exp(Math.log(climate.coast ? 3.8 : 3.1) + wind(t)) * (1 + 0.2 * cycle);
      const wet = rain(t) - 0.75 - 0.5 * clearSky; // wet about a tenth of the time, seldom under a clear sky
      const precipitationMmH = wet > 0 ? Math.min(40, (summer > 0.5 ? 4 : 1.5) * wet * wet) : 0;
      return {
        temperatureC,
        relativeHumidity: Math.min(100, Math.max(12, humidity + (precipitationMmH > 0 ? 8 : 0))),
        pressureHpa: 1012 + pressure(t),
        windSpeedMs: Math.max(0, windSpeedMs),
        windDirection: (((225 + direction(t)) % 360) + 360) % 360,
        precipitationMmH,
        episode: episode(t),
        dust: dust(t),
        clearSky,
        seaLevelM: (climate.coast ? 1 : 0.4) * (sea(t) + 0.05 * Math.max(0, windSpeedMs - 6)),
      };
    },
  };
}

/** The centre of each testbed city (WGS 84), where mobile devices roam. */
export const CITY_CENTRE: Readonly<Record<string, { readonly lat: number; readonly lon: number }>> = {
  helsinki: { lat: 60.1699, lon: 24.9384 },
  espoo: { lat: 60.2055, lon: 24.6559 },
  vantaa: { lat: 60.2934, lon: 25.0378 },
  turku: { lat: 60.4518, lon: 22.2666 },
  tampere: { lat: 61.4978, lon: 23.761 },
  oulu: { lat: 65.0121, lon: 25.4651 },
};
