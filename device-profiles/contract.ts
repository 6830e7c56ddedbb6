import type { CompiledProfile } from './compile.js';

/**
 * A profile's reporting contract in ms: the interval it declares, and when a
 * device of it counts as late and as silent (multiples of the interval, per
 * profile). Device health judges statuses by it; ingest flags the reading that
 * ends a silence (`gap`) by the same numbers.
 */
export interface Contract {
  readonly intervalMs: number;
  readonly lateMs: number;
  readonly silentMs: number;
}

export function contractOf(profile: CompiledProfile): Contract {
  const { reportingIntervalSeconds: seconds, health } = profile.profile;
  return {
    intervalMs: seconds * 1000,
    lateMs: Math.round(seconds * health.lateAfterIntervals * 1000),
    silentMs: Math.round(seconds * health.silentAfterIntervals * 1000),
  };
}
