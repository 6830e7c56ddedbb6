import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ErrorCode } from '../core/index.js';
import type { PayloadFormat, Profile } from '../device-profiles/index.js';
import type { DeviceCredentials } from './credentials.js';
import { VirtualDevice } from './device.js';
import { DeviceDriver } from './driver.js';
import { createEncoder, type UnitChoice } from './encode.js';
import { SimulatorError } from './errors.js';
import { DEFAULT_WINDOW, NO_FAULTS, type FaultKind, type Faults, type TimeWindow } from './faults.js';
import { batteryOf, type DeviceMode } from './modes.js';
import { createRandom, deriveSeed, randomSeed } from './random.js';
import { createReadingGenerator } from './signals.js';
import { createCityWeather, type CityWeather } from './weather.js';

/** One device to simulate: who it is, what it measures, how it sends and what goes wrong with it. */
export interface SimulatedDevice {
  readonly credentials: DeviceCredentials;
  readonly profile: Pick<Profile, 'id' | 'measurements' | 'formats' | 'binary'> & Partial<Pick<Profile, 'reportingIntervalSeconds' | 'health'>>;
  /** The payload format; default the profile's first. */
  readonly format?: PayloadFormat;
  /** Readings per second of this device; default the run's rate. */
  readonly rate?: number;
  /** Its faults; default the run's. */
  readonly faults?: Faults;
  /** Send values in their first alternative unit where the profile declares one (default canonical). */
  readonly units?: UnitChoice;
  /** The testbed city whose weather it shares with the city's other devices (default helsinki). */
  readonly city?: string;
  /** A standing fault (modes.ts): silent, battery-drain, flapping or garbage. */
  readonly mode?: DeviceMode;
}

export interface SimulationOptions {
  /** The MQTT broker, e.g. `mqtt://127.0.0.1:1883`. */
  readonly url: string;
  /** PEM of a private CA for `mqtts:` and `wss:` URLs. */
  readonly ca?: string | Buffer;
  readonly devices: readonly SimulatedDevice[];
  /** Readings per second per device, unless a device says otherwise. */
  readonly rate: number;
  /** Faults of every device that names none of its own (default none). */
  readonly faults?: Faults;
  /** The gateway's time window, to tell which clock skews it should reject (default its defaults). */
  readonly window?: TimeWindow;
  /** Stop after this long; with `count` too, whichever comes first; with neither, run until aborted. */
  readonly durationMs?: number;
  /** Readings per device. */
  readonly count?: number;
  /** Default 1. */
  readonly qos?: 0 | 1;
  /** Seeds the signals; device i gets its own stream derived from it. */
  readonly seed?: number;
  /** Put the reading's own time (ISO 8601) in each payload (default true). */
  readonly includeTime?: boolean;
  /** Count rejection notices from the gateway (default true). */
  readonly listenForRejections?: boolean;
  /** Stops publishing; the run still drains, disconnects and resolves with its summary. */
  readonly signal?: AbortSignal;
  readonly onProgress?: (snapshot: SimulationSnapshot) => void;
  /** Default 1 s. */
  readonly progressIntervalMs?: number;
  /** How long to wait for outstanding PUBACKs at the end (default 5 s). */
  readonly drainMs?: number;
  /** How long to keep listening for rejection notices after the last reading (default 300 ms). */
  readonly settleMs?: number;
  /** Connections opened at once (default 20). */
  readonly connectConcurrency?: number;
  readonly connectTimeoutMs?: number;
}

/** The counters of a run, summed over its devices. */
export interface SimulationSnapshot {
  readonly devices: number;
  readonly connected: number;
  readonly sent: number;
  readonly acknowledged: number;
  readonly rejected: Readonly<Record<string, number>>;
  readonly errors: number;
  /** Time since the first reading was due. */
  readonly elapsedMs: number;
  /** Readings sent per second, all devices together. */
  readonly ratePerSecond: number;
  /** Faults injected, by kind. */
  readonly faults: Readonly<Partial<Record<FaultKind, number>>>;
  /** The rejections the injected faults should get, by code: compare with `rejected`. */
  readonly expectedRejections: Readonly<Partial<Record<ErrorCode, number>>>;
  /** Readings never sent: gaps and time offline. */
  readonly missed: number;
}

export interface SimulationSummary extends SimulationSnapshot {
  readonly qos: 0 | 1;
  readonly seed: number;
  readonly stopped: 'completed' | 'aborted';
}

/**
 * Connects every device, publishes readings at the given rate (device i's
 * first reading staggered by i/N of a period, so N devices do not fire at the
 * same instant), then drains and disconnects. Rejects only when devices cannot
 * connect; everything after that ends in the summary.
 */
export async function runSimulation(options: SimulationOptions): Promise<SimulationSummary> {
  checkOptions(options);
  const qos = options.qos ?? 1;
  const seed = options.seed ?? randomSeed();
  const listen = options.listenForRejections ?? true;
  const devices = options.devices.map(
    (d) =>
      new VirtualDevice({
        url: options.url,
        credentials: d.credentials,
        qos,
        listenForRejections: listen,
        connectTimeoutMs: options.connectTimeoutMs,
        ca: options.ca,
      }),
  );
  const drivers = createDrivers(options, devices, seed);
  const stop = new AbortController();
  setMaxListeners(0, stop.signal); // every device waits on it
  const onAbort = () => stop.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) stop.abort();

  let start = Date.now();
  let end: number | undefined;
  let connectedAtEnd: number | undefined;
  const snapshot = (): SimulationSnapshot => total(devices, drivers, (end ?? Date.now()) - start, connectedAtEnd);
  try {
    await connectAll(devices, options.connectConcurrency ?? 20, stop.signal);
    start = Date.now();
    const timer = options.onProgress ? setInterval(() => options.onProgress!(snapshot()), options.progressIntervalMs ?? 1_000) : undefined;
    try {
      await Promise.all(
        options.devices.map((d, i) => drive(drivers[i]!, d.rate ?? options.rate, i, start, options, stop.signal, () => devices[i]!.intervalMs)),
      );
    } finally {
      end = Date.now();
      clearInterval(timer);
    }
    if (listen && snapshot().sent > 0) await sleep(options.settleMs ?? 300);
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    end ??= Date.now();
    connectedAtEnd = snapshot().connected;
    await Promise.all(devices.map((d) => d.close(options.drainMs ?? 5_000)));
  }
  return { ...snapshot(), qos, seed, stopped: stop.signal.aborted ? 'aborted' : 'completed' };
}

function checkOptions(o: SimulationOptions): void {
  if (o.devices.length === 0) throw new RangeError('no devices to simulate');
  for (const rate of [o.rate, ...o.devices.map((d) => d.rate ?? o.rate)]) {
    if (!(Number.isFinite(rate) && rate > 0)) throw new RangeError(`rate must be a positive number of readings per second, not ${rate}`);
  }
  if (o.durationMs !== undefined && !(o.durationMs > 0)) throw new RangeError(`durationMs must be positive, not ${o.durationMs}`);
  if (o.count !== undefined && !(Number.isInteger(o.count) && o.count > 0)) throw new RangeError(`count must be a positive whole number, not ${o.count}`);
}

/** Connects up to `concurrency` devices at a time; the first failure stops the rest and is thrown. */
async function connectAll(devices: readonly VirtualDevice[], concurrency: number, signal: AbortSignal): Promise<void> {
  const failures: SimulatorError[] = [];
  let next = 0;
  const worker = async () => {
    while (next < devices.length && failures.length === 0 && !signal.aborted) {
      const device = devices[next++]!;
      await device.connect().catch((err: unknown) => {
        failures.push(err instanceof SimulatorError ? err : new SimulatorError('refused', String(err), { cause: err }));
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, concurrency), devices.length) }, worker));
  const first = failures[0];
  if (!first) return;
  const message = failures.length === 1 ? first.message : `${failures.length} devices could not connect; the first: ${first.message}`;
  throw new SimulatorError(first.kind, message, { cause: first });
}

/**
 * A driver per device: its signal (seeded per device, with its city's weather
 * shared), its encoder and its faults (a stream of their own, so the faults a
 * seed draws do not depend on the signals).
 */
function createDrivers(o: SimulationOptions, devices: readonly VirtualDevice[], seed: number): DeviceDriver[] {
  const weathers = new Map<string, CityWeather>();
  const weatherOf = (city: string) => {
    let w = weathers.get(city);
    if (!w) weathers.set(city, (w = createCityWeather(seed, city)));
    return w;
  };
  return o.devices.map((d, i) => {
    const format = d.format ?? d.profile.formats[0]!;
    const units = d.units ?? 'canonical';
    const baseName = `${d.credentials.deviceId}:`;
    return new DeviceDriver({
      connection: devices[i]!,
      profile: d.profile,
      format,
      generator: createReadingGenerator(d.profile, deriveSeed(seed, `device:${i}`), { weather: weatherOf(d.city ?? 'helsinki') }),
      encoder: createEncoder(d.profile, format, { units, baseName }),
      backlogEncoder: createEncoder(d.profile, d.profile.formats.includes('senml') ? 'senml' : 'json', { units, baseName }),
      faults: d.faults ?? o.faults ?? NO_FAULTS,
      random: createRandom(deriveSeed(seed, `faults:${i}`)),
      includeTime: o.includeTime ?? true,
      window: o.window ?? DEFAULT_WINDOW,
      mode: d.mode,
      perInterval: Math.max(1, Math.round((d.rate ?? o.rate) * (d.profile.reportingIntervalSeconds ?? 0))),
      battery: batteryOf(d.profile),
    });
  });
}

/** `intervalMs`: the interval a set_interval command set, which replaces the rate from the next reading on. */
async function drive(
  driver: DeviceDriver,
  rate: number,
  index: number,
  start: number,
  o: SimulationOptions,
  signal: AbortSignal,
  intervalMs: () => number | undefined,
): Promise<void> {
  let period = 1_000 / rate;
  let base = start + (index / o.devices.length) * period;
  let step = 0;
  const end = o.durationMs === undefined ? Infinity : start + o.durationMs;
  for (let k = 0; o.count === undefined || k < o.count; k++, step++) {
    const asked = intervalMs();
    if (asked !== undefined && asked !== period) {
      if (step > 0) {
        base += (step - 1) * period; // the last reading's time: the new spacing starts from it
        step = 1;
      }
      period = asked;
    }
    const due = base + step * period;
    if (due >= end) break;
    const wait = due - Date.now();
    if (wait > 0) {
      try {
        await sleep(wait, undefined, { signal });
      } catch {
        break; // aborted
      }
    }
    if (signal.aborted) break;
    // Stamped with the time it was due, so readings stay distinct when a busy machine runs the loop late.
    await driver.tick(Math.floor(due));
  }
  await driver.finish();
}

function add<K extends string>(into: Partial<Record<K, number>>, from: Readonly<Partial<Record<K, number>>>): void {
  for (const [k, n] of Object.entries(from) as [K, number][]) into[k] = (into[k] ?? 0) + n;
}

/** Sums the devices' counters; `connected` is given once the devices have been closed. */
function total(devices: readonly VirtualDevice[], drivers: readonly DeviceDriver[], elapsedMs: number, connectedNow?: number): SimulationSnapshot {
  const faults: Partial<Record<FaultKind, number>> = {};
  const expectedRejections: Partial<Record<ErrorCode, number>> = {};
  let missed = 0;
  for (const driver of drivers) {
    const s = driver.stats();
    add(faults, s.faults);
    add(expectedRejections, s.expected);
    missed += s.missed;
  }
  let connected = 0;
  let sent = 0;
  let acknowledged = 0;
  let errors = 0;
  const rejected: Record<string, number> = {};
  for (const device of devices) {
    const s = device.stats();
    if (s.connected) connected++;
    sent += s.sent;
    acknowledged += s.acknowledged;
    errors += s.errors;
    for (const [code, n] of Object.entries(s.rejected)) rejected[code] = (rejected[code] ?? 0) + n;
  }
  const ratePerSecond = elapsedMs > 0 ? Math.round((sent / elapsedMs) * 10_000) / 10 : 0;
  return {
    devices: devices.length,
    connected: connectedNow ?? connected,
    sent,
    acknowledged,
    rejected,
    errors,
    elapsedMs,
    ratePerSecond,
    faults,
    expectedRejections,
    missed,
  };
}
