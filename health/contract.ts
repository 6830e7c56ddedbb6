import type { Reading } from '../store/index.js';
import type { CompiledProfile } from '../device-profiles/index.js';

/**
 * A device's reporting contract in ms: the expected interval and when it counts
 * as late and silent. The interval is the one the device reported in its
 * configuration, when it did, else its profile's.
 */
export interface Contract {
  readonly intervalMs: number;
  readonly lateMs: number;
  readonly silentMs: number;
}

export function contractOf(profile: CompiledProfile, reportedIntervalSeconds?: number): Contract {
  const { health } = profile.profile;
  const seconds = reportedIntervalSeconds ?? profile.profile.reportingIntervalSeconds;
  return {
    intervalMs: seconds * 1000,
    lateMs: Math.round(seconds * health.lateAfterIntervals * 1000),
    silentMs: Math.round(seconds * health.silentAfterIntervals * 1000),
  };
}

/** The battery value a reading carries, with whether it is below the profile's low threshold. */
export function batteryOf(profile: CompiledProfile, reading: Reading): { value: number; low: boolean } | undefined {
  const battery = profile.profile.health.battery;
  const value = battery && reading.values[battery.measurement];
  return battery && value !== undefined ? { value, low: value < battery.lowBelow } : undefined;
}

/** The signal strength a reading carries, when the profile names a signal measurement. */
export function signalOf(profile: CompiledProfile, reading: Reading): number | undefined {
  const signal = profile.profile.health.signal;
  return signal && reading.values[signal.measurement];
}
