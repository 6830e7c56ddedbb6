import { dailyCycle, localTime, season, trafficLevel } from './calendar.js';
import { ouStep, type Random } from './random.js';

/**
 * The street a virtual device stands in: slow weather and pollution processes
 * advanced in time, plus the fast fluctuation a sensor sees in each reading.
 * Measurements are read off these conditions (see signals.ts), so a device's
 * humidity follows its own temperature and its pm10 its own pm2.5.
 */
export interface Conditions {
  readonly temperatureC: number;
  readonly relativeHumidity: number;
  readonly pressureHpa: number;
  /** Wind speed over the reporting interval, gusts included; never negative. */
  readonly windSpeedMs: number;
  /** Fine particles (PM2.5), µg/m³. */
  readonly pm25: number;
  /** Coarse particles (PM10 minus PM2.5), µg/m³; never negative. */
  readonly pmCoarse: number;
  /** A traffic gas such as NO2, µg/m³. */
  readonly trafficGas: number;
  /** A-weighted equivalent sound level, dB(A). */
  readonly laeq: number;
  /** How far the loudest moment rose above laeq, dB; never negative. */
  readonly laMaxExcess: number;
  /** How far the quietest moment fell below laeq, dB; never negative. */
  readonly laMinDeficit: number;
}

export interface Environment {
  /** The conditions at `epochMs`. Times should not go backwards; if they do, the slow processes stand still. */
  at(epochMs: number): Conditions;
}

const HOUR = 3_600_000;

/** Slow processes: stationary standard deviation and correlation time. */
const SLOW = {
  weather: { sd: 3, tau: 36 * HOUR }, // °C, a warm or cold spell
  damp: { sd: 7, tau: 12 * HOUR }, // % relative humidity
  pressure: { mean: 1013, sd: 9, tau: 60 * HOUR }, // hPa
  wind: { mean: Math.log(3.5), sd: 0.45, tau: 8 * HOUR }, // log m/s
  episode: { sd: 0.4, tau: 18 * HOUR }, // log factor of particle levels
  dust: { sd: 0.35, tau: 10 * HOUR }, // log factor of road dust
  loudness: { sd: 1.5, tau: 0.5 * HOUR }, // dB
} as const;

type SlowState = { -readonly [K in keyof typeof SLOW]: number };

function initialState(random: Random): SlowState {
  return {
    weather: SLOW.weather.sd * random.gaussian(),
    damp: SLOW.damp.sd * random.gaussian(),
    pressure: SLOW.pressure.mean + SLOW.pressure.sd * random.gaussian(),
    wind: SLOW.wind.mean + SLOW.wind.sd * random.gaussian(),
    episode: SLOW.episode.sd * random.gaussian(),
    dust: SLOW.dust.sd * random.gaussian(),
    loudness: SLOW.loudness.sd * random.gaussian(),
  };
}

function advance(s: SlowState, dt: number, random: Random): void {
  s.weather = ouStep(s.weather, 0, SLOW.weather.sd, SLOW.weather.tau, dt, random);
  s.damp = ouStep(s.damp, 0, SLOW.damp.sd, SLOW.damp.tau, dt, random);
  s.pressure = ouStep(s.pressure, SLOW.pressure.mean, SLOW.pressure.sd, SLOW.pressure.tau, dt, random);
  s.wind = ouStep(s.wind, SLOW.wind.mean, SLOW.wind.sd, SLOW.wind.tau, dt, random);
  s.episode = ouStep(s.episode, 0, SLOW.episode.sd, SLOW.episode.tau, dt, random);
  s.dust = ouStep(s.dust, 0, SLOW.dust.sd, SLOW.dust.tau, dt, random);
  s.loudness = ouStep(s.loudness, 0, SLOW.loudness.sd, SLOW.loudness.tau, dt, random);
}

/** A street of its own, driven by `random`; the first call draws its starting weather. */
export function createEnvironment(random: Random): Environment {
  let state: SlowState | undefined;
  let last = 0;

  return {
    at(epochMs) {
      if (state === undefined) state = initialState(random);
      else advance(state, epochMs - last, random);
      last = Math.max(last, epochMs);
      return conditions(state, epochMs, random);
    },
  };
}

function conditions(s: SlowState, epochMs: number, random: Random): Conditions {
  const t = localTime(epochMs);
  const summer = season(t.dayOfYear);
  const traffic = trafficLevel(t);

  // Helsinki-like: about -6 °C in late January, 17 °C in late July; a wider daily swing in summer.
  const cycle = dailyCycle(t.hour);
  const swing = 2 + 3.5 * summer;
  const temperatureC = -6 + 23 * summer + swing * cycle + s.weather + 0.15 * random.gaussian();

  // The air holds about the same water over a day, so relative humidity falls as it warms.
  const humidity = 86 - 14 * summer - 3 * swing * cycle - 1.5 * s.weather + s.damp + random.gaussian();

  const wind = Math.exp(s.wind) * (1 + 0.2 * cycle); // afternoon mixing stirs the wind up
  const gust = Math.abs(1 + 0.25 * random.gaussian());

  // Calm air keeps particles in the street; strong wind blows them away.
  const dispersal = Math.min(2, Math.sqrt(3.5 / Math.max(wind, 0.5)));
  const pm25 = (4 + 9 * traffic) * Math.exp(s.episode) * dispersal * (1 + 0.08 * random.gaussian());
  // Road dust peaks in spring, when the winter's grit dries out (around day 100).
  const spring = Math.exp(-0.5 * ((t.dayOfYear - 100) / 20) ** 2);
  const pmCoarse = (2 + 10 * traffic) * (1 + 1.5 * spring) * Math.exp(s.dust) * Math.abs(1 + 0.12 * random.gaussian());
  const trafficGas = (6 + 40 * traffic) * Math.exp(0.7 * s.episode) * dispersal * Math.abs(1 + 0.1 * random.gaussian());

  const laeq = 40 + 26 * traffic + 0.4 * Math.max(0, wind - 6) + s.loudness + random.gaussian();

  return {
    temperatureC,
    relativeHumidity: Math.min(100, Math.max(8, humidity)),
    pressureHpa: s.pressure + 0.1 * random.gaussian(),
    windSpeedMs: Math.max(0, wind * gust),
    pm25: Math.max(0, pm25),
    pmCoarse,
    trafficGas,
    laeq,
    laMaxExcess: 6 + 5 * Math.abs(random.gaussian()),
    laMinDeficit: 3 + 2 * Math.abs(random.gaussian()),
  };
}
