import { classroomOccupancy, dailyCycle, footfall, localTime, season, trafficLevel, type LocalTime } from './calendar.js';
import type { Random } from './random.js';
import { createCityWeather, type CityWeather, type Weather } from './weather.js';

/**
 * The place a virtual device stands in, at one instant: its city's weather
 * (shared by every device of the city), the calendar's rhythms, and what is
 * local to the device and to each reading: a small sensor bias, how exposed
 * its street is to traffic, and the fast fluctuation of every reading.
 * Measurements are read off these conditions (see signals-street.ts and
 * signals-activity.ts), so a device's humidity follows its temperature and a
 * city's road sensors freeze when its weather masts say it is freezing.
 */
export interface Conditions extends Weather {
  readonly local: LocalTime;
  /** 0 in the depth of winter, 1 at the height of summer. */
  readonly summer: number;
  /** 0 at night to 1 at noon on a clear midsummer day, by the sun's height. */
  readonly daylight: number;
  /** Road traffic, about 0.06 at night to 1.5 at the weekday rush, times the street's exposure. */
  readonly traffic: number;
  /** Pupils in a classroom, 0 to 1. */
  readonly classroom: number;
  /** People on foot around a public building, 0 to about 1. */
  readonly footfall: number;
  /** Fine particles (PM2.5), µg/m³. */
  readonly pm25: number;
  /** Coarse particles (PM10 minus PM2.5), µg/m³; never negative. */
  readonly pmCoarse: number;
  readonly no2: number;
  readonly o3: number;
  /** A-weighted equivalent sound level, dB(A), and how far the loudest and quietest moments stray from it. */
  readonly laeq: number;
  readonly laMaxExcess: number;
  readonly laMinDeficit: number;
  /** Road surface: warmer than the air in the sun, colder under a clear night sky. */
  readonly surfaceTemperatureC: number;
  /** Lake or sea water near the surface: follows the season a month late. */
  readonly waterTemperatureC: number;
}

export interface Environment {
  at(epochMs: number): Conditions;
}

/**
 * A device's place in `weather`'s city; `random` is the device's own stream
 * (its bias, its exposure, the noise of its readings). Without a city weather
 * the device gets a city of its own, from its stream.
 */
export function createEnvironment(random: Random, weather: CityWeather = createCityWeather(Math.floor(random.next() * 2 ** 32))): Environment {
  const bias = 0.3 * random.gaussian();
  const exposure = Math.exp(0.25 * random.gaussian());
  const loudness = 1.5 * random.gaussian();

  return {
    at(t) {
      const w = weather.at(t);
      const local = localTime(t);
      const summer = season(local.dayOfYear);
      const halfDay = 3 + 6.5 * summer; // hours from noon to sunset: 6 h days in December, 19 h in June
      const fromNoon = Math.abs(local.hour - 13);
      const daylight = fromNoon < halfDay ? Math.cos((fromNoon / halfDay) * (Math.PI / 2)) * (0.25 + 0.75 * summer) : 0;
      const traffic = trafficLevel(local) * exposure;
      const spring = Math.exp(-0.5 * ((local.dayOfYear - 100) / 20) ** 2); // road dust peaks when the winter's grit dries out
      const dispersal = Math.min(2, Math.sqrt(3.5 / Math.max(w.windSpeedMs, 0.5))); // calm air keeps pollution in the street
      const washed = w.precipitationMmH > 0.2 ? 0.4 : 1;
      const gust = Math.abs(1 + 0.25 * random.gaussian());
      const pm25 = (4 + 9 * traffic) * Math.exp(w.episode) * dispersal * (1 + 0.08 * random.gaussian());
      const no2 = (6 + 40 * traffic) * Math.exp(0.7 * w.episode) * dispersal * Math.abs(1 + 0.1 * random.gaussian());
      const temperatureC = w.temperatureC + bias + 0.15 * random.gaussian();
      const sun = w.clearSky * daylight;
      return {
        ...w,
        temperatureC,
        relativeHumidity: Math.min(100, Math.max(8, w.relativeHumidity + random.gaussian())),
        pressureHpa: w.pressureHpa + 0.1 * random.gaussian(),
        windSpeedMs: Math.max(0, w.windSpeedMs * gust),
        windDirection: (w.windDirection + 12 * random.gaussian() + 360) % 360,
        precipitationMmH: Math.max(0, w.precipitationMmH * (1 + 0.1 * random.gaussian())),
        local,
        summer,
        daylight,
        traffic,
        classroom: classroomOccupancy(local),
        footfall: footfall(local),
        pm25: Math.max(0, pm25),
        pmCoarse: (2 + 10 * traffic) * (1 + 1.5 * spring) * Math.exp(w.dust) * washed * Math.abs(1 + 0.12 * random.gaussian()),
        no2,
        // Ozone builds up in sunshine and is eaten by the NO of exhausts, so it is lowest at a busy street's rush hour.
        o3: Math.max(2, (30 + 45 * summer) * (0.55 + 0.45 * sun) - 0.35 * (no2 - 15) + 4 * random.gaussian()),
        laeq: 40 + 26 * Math.min(1.3, traffic) + 0.4 * Math.max(0, w.windSpeedMs - 6) + (w.precipitationMmH > 1 ? 3 : 0) + loudness + random.gaussian(),
        laMaxExcess: 6 + 5 * Math.abs(random.gaussian()),
        laMinDeficit: 3 + 2 * Math.abs(random.gaussian()),
        surfaceTemperatureC: temperatureC + sun * (4 + 14 * summer) - 2.5 * w.clearSky * (daylight === 0 ? 1 : 0) + 0.2 * random.gaussian(),
        waterTemperatureC: Math.max(0.1, 0.5 + 18.5 * season(local.dayOfYear - 25) + 0.6 * summer * dailyCycle(local.hour) + 0.1 * random.gaussian()),
      };
    },
  };
}
