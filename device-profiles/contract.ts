import type { CompiledProfile } from './compile.js';

/**
 * A profile's reporting contract in ms: the interval it declares, and when a
 * device of it counts as late and as silent (multiples of the interval, per
 * profile). The interval is the one the device reported in its configuration,
 * when it did, else its profile's. Device health judges statuses by it; ingest flags the reading that
 * ends a silence (`gap`) by the same numbers.
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
