import type { Reading } from '../store/index.js';
import type { CompiledProfile } from '../device-profiles/index.js';

export { contractOf, type Contract } from '../device-profiles/index.js';

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
