import type { Measurement } from '../device-profiles/index.js';
import { cycling, isWeekend, schoolWalk } from './calendar.js';
import type { Conditions } from './environment.js';
import { createRandom, deriveSeed, poisson, type Random } from './random.js';

/**
 * Measurements that come from what happens around a device rather than from
 * the air: things counted over the reporting interval, a parking space taken
 * and freed, a classroom's CO2, a bin filling up, a battery running down, a
 * meter's register, a tracker's position. Each model keeps its state and
 * advances by the time since it was last asked; measurements of one model (a
 * counter's in, out and occupancy) are computed together, once per instant.
 */
export type Signal = (c: Conditions, epochMs: number) => number;

export interface ActivityOptions {
  readonly seed: number;
  /** The profile's reporting interval: counts are per interval. */
  readonly intervalMs: number;
  /** Where a mobile device roams. */
  readonly home: { readonly lat: number; readonly lon: number };
  /** The physical and plausible ranges of the profile's measurements, for battery voltages. */
  readonly measurements: readonly Measurement[];
  /** The device is in a room (its profile measures CO2): temperature and humidity are the room's. */
  readonly indoor: boolean;
}

const HOUR = 3_600_000;

/** A model's state advanced once per instant, whichever of its measurements asks first. */
function model<T>(random: Random, step: (c: Conditions, t: number, dt: number, random: Random) => T): (c: Conditions, t: number) => T {
  let lastT: number | undefined;
  let last: T;
  return (c, t) => {
    if (t !== lastT) {
      const dt = lastT === undefined ? 0 : Math.max(0, t - lastT);
      last = step(c, t, dt, random);
      lastT = t;
    }
    return last;
  };
}

/** Creates the activity models of one device, lazily, and finds the one for each measurement. */
export function createActivity(o: ActivityOptions) {
  const rnd = (label: string) => createRandom(deriveSeed(o.seed, `model:${label}`));
  const per = (ms: number) => o.intervalMs / ms;
  const models = new Map<string, unknown>();
  const once = <T>(key: string, make: () => T): T => {
    if (!models.has(key)) models.set(key, make());
    return models.get(key) as T;
  };

  const traffic = () =>
    once('traffic', () =>
      model(rnd('traffic'), (c, _t, _dt, r) => {
        const vehicles = poisson(r, c.traffic * 40 * per(60_000));
        return { vehicles, heavy: Math.min(vehicles, poisson(r, vehicles * 0.07)) };
      }),
    );
  const bicycles = () =>
    once('bicycles', () =>
      model(rnd('bicycles'), (c, _t, _dt, r) => {
        const flow = cycling(c.local, c.summer);
        const weather = c.precipitationMmH > 0.5 ? 0.5 : 1;
        return { inbound: poisson(r, flow.inbound * 110 * weather * per(900_000)), outbound: poisson(r, flow.outbound * 110 * weather * per(900_000)) };
      }),
    );
  const people = () =>
    once('people', () => {
      let inside = 0;
      return model(rnd('people'), (c, _t, dt, r) => {
        const entered = poisson(r, 70 * c.footfall * per(300_000));
        // People stay about 40 minutes; at closing time the building empties.
        const leaving = c.footfall < 0.05 ? 0.6 : 1 - Math.exp(-(dt || o.intervalMs) / (40 * 60_000));
        const left = Math.min(inside + entered, poisson(r, inside * leaving));
        inside += entered - left;
        return { entered, left, inside };
      });
    });
  const parking = () =>
    once('parking', () => {
      let occupied: number | undefined;
      return model(rnd('parking'), (c, _t, dt, r) => {
        const h = c.local.hour;
        const busy = isWeekend(c.local) ? 0.5 : h >= 8 && h < 17 ? 0.85 : h >= 17 && h < 22 ? 0.55 : 0.3;
        if (occupied === undefined) occupied = r.next() < busy ? 1 : 0;
        // Arrivals and departures at rates that keep the space `busy` of the time, turning over every 1.5 h or so.
        const rate = (occupied ? 1 - busy : busy) / (1.5 * HOUR);
        if (r.next() < 1 - Math.exp(-rate * dt)) occupied = 1 - occupied;
        return occupied;
      });
    });
  const co2 = () =>
    once('co2', () => {
      let ppm: number | undefined;
      return model(rnd('co2'), (c, _t, dt, r) => {
        const target = 425 + 1350 * c.classroom;
        ppm = ppm === undefined ? target : target + (ppm - target) * Math.exp(-dt / ((c.classroom > 0 ? 30 : 45) * 60_000));
        return ppm + 12 * r.gaussian();
      });
    });
  const room = () =>
    once('room', () => {
      let drift = 0;
      let damp = 0;
      return model(rnd('room'), (c, _t, dt, r) => {
        const phi = Math.exp(-dt / HOUR);
        drift = drift * phi + 0.25 * Math.sqrt(1 - phi * phi) * r.gaussian();
        damp = damp * phi + 2 * Math.sqrt(1 - phi * phi) * r.gaussian();
        return {
          // Heated to about 21 °C, warmed by a full class, warmer in summer.
          temperature: 20.6 + 1.6 * c.classroom + 3 * c.summer + 0.03 * c.temperatureC + drift + 0.05 * r.gaussian(),
          // Indoors the winter air is dry: outdoor air warmed up holds little water; a class breathes some in.
          humidity: 20 + 28 * c.summer + 6 * c.classroom + 0.3 * (c.relativeHumidity - 80) + damp,
        };
      });
    });
  const film = () =>
    once('film', () => {
      let mm = 0;
      return model(rnd('film'), (c, _t, dt) => {
        const wetting = c.precipitationMmH > 0 ? Math.min(3, 0.08 + 0.3 * c.precipitationMmH ** 0.8) : 0;
        mm = Math.max(wetting, mm * Math.exp(-dt / ((c.surfaceTemperatureC < 0 ? 4 : 1.5) * HOUR)));
        return mm;
      });
    });
  const friction = () =>
    once('friction', () =>
      model(rnd('friction'), (c, t, _dt, r) => {
        const water = film()(c, t);
        if (water < 0.02) return 0.8 + 0.015 * r.gaussian();
        if (c.surfaceTemperatureC <= 0.3) return Math.max(0.12, 0.25 + 0.06 * r.gaussian() - 0.05 * Math.min(1, water)); // ice
        return 0.78 - 0.2 * Math.min(1, water) + 0.02 * r.gaussian();
      }),
    );
  const bin = () =>
    once('bin', () => {
      let fill: number | undefined;
      return model(rnd('bin'), (c, _t, dt, r) => {
        fill ??= 5 + 55 * r.next();
        fill = Math.min(100, fill + (dt / HOUR) * (0.5 + 1.5 * c.footfall));
        const h = c.local.hour;
        // The collection round empties full bins on weekdays; the bin tips over to about 120° while it does.
        const round = !isWeekend(c.local) && h >= 7 && h < 15 && fill > 70 && r.next() < 1 - Math.exp(-dt / (3 * HOUR));
        if (round) fill = 1 + 2 * r.next();
        return { fill, tilt: round ? 118 + 4 * r.gaussian() : Math.abs(1.5 * r.gaussian()) };
      });
    });
  const battery = () =>
    once('battery', () => {
      let level: number | undefined;
      const tracker = o.measurements.some((m) => m.quantity === 'latitude');
      return model(rnd('battery'), (c, _t, dt, r) => {
        level ??= 60 + 40 * r.next();
        // A tracker's battery lasts a day or two and is swapped when low; a sensor's lasts years, so a run sees it fall slowly.
        level -= (dt / HOUR) * (tracker ? 2 : 0.02);
        if (tracker && level < 15) level = 100;
        return { level: Math.max(1, level), cold: Math.min(0, c.temperatureC) };
      });
    });
  const meter = () =>
    once('meter', () => {
      let register: number | undefined;
      return model(rnd('meter'), (c, _t, dt, r) => {
        register ??= 20_000 + 180_000 * r.next();
        const h = c.local.hour;
        const office = !isWeekend(c.local) && h >= 7 && h < 18 ? 1 : 0;
        const heating = Math.max(0, (15 - c.temperatureC) / 30);
        const power = 1800 + 5500 * office + 7000 * heating + 400 * r.gaussian();
        register += (power * dt) / HOUR / 1000;
        const voltage = 230 + 2.5 * Math.sin((2 * Math.PI * c.local.hour) / 24) + 0.8 * r.gaussian();
        return { power, register, voltage, current: power / voltage, frequency: 50 + 0.025 * r.gaussian() };
      });
    });
  const radio = (label: string) =>
    once(`radio:${label}`, () => {
      const r = rnd(`radio:${label}`);
      const mean = -78 - 30 * r.next();
      return model(r, (_c, _t, _dt, rr) => mean + 3 * rr.gaussian());
    });
  const tracker = () =>
    once('tracker', () => {
      const r = rnd('tracker');
      const radius = 1200 + 2300 * r.next();
      let angle = 2 * Math.PI * r.next();
      let heading = 0;
      return model(r, (c, _t, dt, rr) => {
        const h = c.local.hour;
        const moving = h >= 7 && h < 23 && rr.next() > 0.15;
        const speed = moving ? Math.max(0, 5.5 * (1 - 0.3 * Math.min(1, c.traffic)) + 1.2 * rr.gaussian()) : 0;
        angle += (speed * dt) / 1000 / radius;
        const north = radius * Math.cos(angle);
        const east = radius * Math.sin(angle);
        if (speed > 0) heading = ((Math.atan2(Math.cos(angle), -Math.sin(angle)) * 180) / Math.PI + 360) % 360;
        return {
          latitude: o.home.lat + north / 111_320,
          longitude: o.home.lon + east / (111_320 * Math.cos((o.home.lat * Math.PI) / 180)),
          speed,
          heading,
        };
      });
    });

  const batteryVoltage = (m: Measurement): Signal => {
    const full = Math.min(m.range.max, (m.plausible?.max ?? m.range.max) - 0.08);
    const empty = (m.plausible?.min ?? m.range.min) + 0.05;
    return (c, t) => {
      const { level, cold } = battery()(c, t);
      return empty + (full - empty) * (1 - (1 - level / 100) ** 3) + 0.004 * cold; // flat until the cell is nearly spent
    };
  };

  /** The activity signal of a measurement, or undefined. */
  return function signal(m: Measurement): { signal: Signal; decimals: number } | undefined {
    const n = m.name;
    const s = (signal: Signal, decimals: number) => ({ signal, decimals });
    switch (m.quantity) {
      case 'temperature':
        return o.indoor ? s((c, t) => room()(c, t).temperature, 1) : undefined;
      case 'relative_humidity':
        return o.indoor ? s((c, t) => room()(c, t).humidity, 1) : undefined;
      case 'count':
        if (/heavy|truck/.test(n)) return s((c, t) => traffic()(c, t).heavy, 0);
        if (/vehicle|car/.test(n)) return s((c, t) => traffic()(c, t).vehicles, 0);
        if (/bicycle|bike/.test(n)) return s((c, t) => (/out/.test(n) ? bicycles()(c, t).outbound : bicycles()(c, t).inbound), 0);
        if (/_in$|entr/.test(n)) return s((c, t) => people()(c, t).entered, 0);
        if (/_out$|exit/.test(n)) return s((c, t) => people()(c, t).left, 0);
        if (/occupancy|inside/.test(n)) return s((c, t) => people()(c, t).inside, 0);
        if (/activation|pass|detection/.test(n)) {
          const r = rnd(`count:${n}`);
          return s((c) => poisson(r, (70 * schoolWalk(c.local) + 6 * c.footfall + 0.3) * per(900_000)), 0);
        }
        return undefined;
      case 'state':
        return /occupied|parked|present/.test(n) ? s((c, t) => parking()(c, t), 0) : undefined;
      case 'volume_fraction':
        return /co2/.test(n) ? s((c, t) => co2()(c, t), 0) : undefined;
      case 'film_thickness':
        return s((c, t) => film()(c, t), 2);
      case 'friction_coefficient':
        return s((c, t) => friction()(c, t), 2);
      case 'fraction':
        return /fill/.test(n) ? s((c, t) => bin()(c, t).fill, 0) : undefined;
      case 'angle':
        if (/tilt/.test(n)) return s((c, t) => bin()(c, t).tilt, 0);
        if (/heading|course/.test(n)) return s((c, t) => tracker()(c, t).heading, 1);
        return undefined;
      case 'speed':
        return o.measurements.some((x) => x.quantity === 'latitude') ? s((c, t) => tracker()(c, t).speed, 1) : undefined;
      case 'latitude':
        return s((c, t) => tracker()(c, t).latitude, 6);
      case 'longitude':
        return s((c, t) => tracker()(c, t).longitude, 6);
      case 'battery_level':
        return s((c, t) => battery()(c, t).level, 0);
      case 'voltage':
        return /batt/.test(n) ? s(batteryVoltage(m), 3) : s((c, t) => meter()(c, t).voltage, 1);
      case 'power':
        return s((c, t) => meter()(c, t).power, 0);
      case 'energy':
        return s((c, t) => meter()(c, t).register, 3);
      case 'current':
        return s((c, t) => meter()(c, t).current, 2);
      case 'frequency':
        return s((c, t) => meter()(c, t).frequency, 2);
      case 'signal_strength':
        return s(radio(n), 0);
      case 'signal_to_noise_ratio': {
        const r = rnd(`snr:${n}`);
        return s(() => 8 + 3 * r.gaussian(), 1);
      }
      default:
        return undefined;
    }
  };
}
