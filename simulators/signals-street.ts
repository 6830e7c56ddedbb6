import type { Measurement } from '../device-profiles/index.js';
import type { Conditions } from './environment.js';

/**
 * Measurements read straight off the conditions: weather, air, noise, the road
 * surface, water and traffic flow. Values are in the measurement's canonical
 * unit (the profile format makes every measurement use it).
 */
export interface StreetSignal {
  readonly read: (c: Conditions) => number;
  readonly decimals: number;
  /** Where the signal usually stays; a measurement whose range cannot hold it (a fridge's temperature) gets the generic signal instead. */
  readonly band: readonly [number, number];
}

const read = (f: (c: Conditions) => number, decimals: number, band: readonly [number, number]): StreetSignal => ({ read: f, decimals, band });

function particles(name: string): StreetSignal {
  if (/pm10/.test(name)) return read((c) => c.pm25 + c.pmCoarse, 1, [0, 150]); // PM10 includes PM2.5, so it is never below it
  if (/pm2_?5/.test(name)) return read((c) => c.pm25, 1, [0, 150]);
  if (/^pm1(_0)?$/.test(name)) return read((c) => 0.7 * c.pm25, 1, [0, 150]);
  if (/o3|ozone/.test(name)) return read((c) => c.o3, 1, [0, 150]);
  return read((c) => c.no2, 1, [0, 150]);
}

function sound(name: string): StreetSignal {
  if (/max/.test(name)) return read((c) => c.laeq + c.laMaxExcess, 1, [25, 110]);
  if (/min/.test(name)) return read((c) => c.laeq - c.laMinDeficit, 1, [25, 100]);
  return read((c) => c.laeq, 1, [25, 100]);
}

/**
 * The street signal of a measurement, by its quantity and name, or undefined
 * when it is not one (then an activity model or the generic signal serves).
 * `indoor`: the device sits in a room (its profile measures CO2).
 */
export function streetSignal(m: Measurement, indoor: boolean): StreetSignal | undefined {
  const name = m.name;
  switch (m.quantity) {
    case 'temperature':
      if (/surface|road/.test(name)) return read((c) => c.surfaceTemperatureC, 1, [-40, 50]);
      if (/water|sea|lake/.test(name)) return read((c) => c.waterTemperatureC, 2, [0, 25]);
      if (indoor) return undefined; // a room: signals-activity.ts
      return read((c) => c.temperatureC, 1, [-35, 35]);
    case 'relative_humidity':
      if (indoor) return undefined;
      return read((c) => c.relativeHumidity, 1, [10, 100]);
    case 'pressure':
      return read((c) => c.pressureHpa, 1, [950, 1060]);
    case 'speed':
      if (/wind/.test(name)) return read((c) => c.windSpeedMs, 1, [0, 25]);
      // Vehicles: free flow about 50 km/h, slower as the lane fills up.
      if (/mean|vehicle|traffic/.test(name)) return read((c) => 14 - 6 * Math.min(1, c.traffic) ** 2, 1, [6, 15]);
      return undefined;
    case 'angle':
      if (/wind/.test(name)) return read((c) => c.windDirection, 0, [0, 360]);
      return undefined;
    case 'precipitation_rate':
      return read((c) => c.precipitationMmH, 1, [0, 20]);
    case 'mass_concentration':
      return particles(name);
    case 'sound_pressure_level':
      return sound(name);
    case 'length':
      if (/water|sea|level/.test(name)) return read((c) => c.seaLevelM, 3, [-1, 1.5]);
      return undefined;
    case 'fraction':
      if (/lane|occupancy/.test(name)) return read((c) => 40 * Math.min(1.2, c.traffic) ** 1.6, 1, [0, 60]);
      return undefined;
    default:
      return undefined;
  }
}
