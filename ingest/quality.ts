import type { Reading } from '../store/index.js';
import { contractOf, type CompiledProfile, type ProfileCatalogue } from '../device-profiles/index.js';

/** A measurement's current run: its value and how many readings in a row carried it. */
interface Run {
  value: number;
  count: number;
}

interface DeviceMemory {
  /** The time of the device's newest reading seen. */
  lastTime: number | undefined;
  /** When (Date.now) it was last moved to the recently-used end of the table. */
  touched: number;
  readonly runs: Map<string, Run>;
}

/** Devices remembered; past this the least recently heard from is forgotten (its next reading starts afresh). */
const MAX_DEVICES = 100_000;
/** A device moves to the recently-used end of the table at most this often, not on every reading. */
const REORDER_MS = 1000;

/**
 * The quality flags that need a device's history, set on each reading as it
 * passes ingest (beside `suspect`, which a value alone decides):
 *
 * - `stuck`: the measurements whose value is the same as in the previous
 *   readings, the profile's `health.stuckAfter` times in a row or more (a
 *   frozen sensor keeps sending its last value);
 * - `gap`: the reading follows a silence longer than the profile's silent
 *   threshold (`reportingIntervalSeconds` × `health.silentAfterIntervals`),
 *   so the series has a hole before it.
 *
 * Readings are judged in the order they arrive; one older than the device's
 * newest (a backlog sent late) is neither flagged nor counted. The memory
 * outlives a connection (a device that reconnects keeps its runs); across a
 * restart the time of the device's newest stored reading comes from
 * `lastReadingAt`, so a silence spanning a restart is still a gap.
 */
export class QualityTracker {
  readonly #profiles: ProfileCatalogue;
  readonly #lastReadingAt: (deviceId: string) => number | undefined;
  readonly #devices = new Map<string, DeviceMemory>();
  readonly #silent = new WeakMap<CompiledProfile, number>();

  constructor(profiles: ProfileCatalogue, lastReadingAt: (deviceId: string) => number | undefined = () => undefined) {
    this.#profiles = profiles;
    this.#lastReadingAt = lastReadingAt;
  }

  /** The reading with its `stuck` and `gap` flags, when raised; the reading itself otherwise. */
  mark(reading: Reading): Reading {
    const profile = this.#profiles.get(reading.profile);
    if (!profile) return reading;
    const memory = this.#memory(reading.deviceId);
    const last = memory.lastTime;
    if (last !== undefined && reading.time <= last) return reading;
    memory.lastTime = reading.time;
    const gap = last !== undefined && reading.time - last > this.#silentMs(profile);
    const after = profile.profile.health.stuckAfter;
    let stuck: string[] | undefined;
    const values = reading.values;
    for (const name in values) {
      const value = values[name]!;
      let run = memory.runs.get(name);
      if (!run) memory.runs.set(name, (run = { value, count: 1 }));
      else if (run.value === value) run.count++;
      else {
        run.value = value;
        run.count = 1;
      }
      if (run.count >= after) (stuck ??= []).push(name);
    }
    if (!gap && !stuck) return reading;
    return { ...reading, ...(stuck ? { stuck } : {}), ...(gap ? { gap: true } : {}) };
  }

  /** The profile's silent threshold, worked out once per profile rather than per reading. */
  #silentMs(profile: CompiledProfile): number {
    let ms = this.#silent.get(profile);
    if (ms === undefined) this.#silent.set(profile, (ms = contractOf(profile).silentMs));
    return ms;
  }

  /** Forgets a device's history (its pilot was erased). */
  forget(deviceId: string): void {
    this.#devices.delete(deviceId);
  }

  #memory(deviceId: string): DeviceMemory {
    const now = Date.now();
    let memory = this.#devices.get(deviceId);
    if (memory) {
      if (now - memory.touched < REORDER_MS) return memory;
      // Map order is insertion order: moving the device to the end keeps the least recently heard from first.
      memory.touched = now;
      this.#devices.delete(deviceId);
    } else {
      memory = { lastTime: this.#lastReadingAt(deviceId), touched: now, runs: new Map() };
      if (this.#devices.size >= MAX_DEVICES) this.#devices.delete(this.#devices.keys().next().value as string);
    }
    this.#devices.set(deviceId, memory);
    return memory;
  }
}
