import { isoTime, type ErrorCode } from '../core/index.js';

export interface TimePolicy {
  /** How far ahead of the gateway's clock a reading's own time may be. */
  readonly maxFutureMs: number;
  /** How far behind the gateway's clock a reading's own time may be. */
  readonly maxAgeMs: number;
}

export type Timed = { readonly ok: true; readonly time: number } | { readonly ok: false; readonly code: ErrorCode; readonly reason: string };

/**
 * Checks a reading's own time (epoch ms) against the accepted window around
 * `now`; the rejection says which side it fell out of. `hint` is added to the
 * reason (e.g. "it looks like epoch seconds").
 */
export function timeInWindow(time: number, now: number, policy: TimePolicy, hint = ''): Timed {
  if (time > now + policy.maxFutureMs) {
    return {
      ok: false,
      code: 'TESTBED_READING_TIME_IN_FUTURE',
      reason: `time ${isoOrRaw(time)} is more than ${policy.maxFutureMs / 1000} s ahead of the gateway clock${hint}; check the device clock`,
    };
  }
  if (time < now - policy.maxAgeMs) {
    return {
      ok: false,
      code: 'TESTBED_READING_TIME_TOO_OLD',
      reason: `time ${isoOrRaw(time)} is older than ${Math.round(policy.maxAgeMs / 86_400_000)} days${hint}`,
    };
  }
  return { ok: true, time };
}

/** A time for a reason: ISO 8601, or the raw ms where toISOString would throw (beyond ±8.64e15 ms; a device may send anything). */
export function isoOrRaw(time: number): string {
  return Math.abs(time) <= 8.64e15 ? isoTime(time) : `${time} ms`;
}

/**
 * Stamps readings that carry no time of their own with the time of receipt.
 * Two such readings of one device in the same millisecond get consecutive
 * milliseconds: a device's reading is identified by its time, so the second
 * would otherwise replace the first.
 */
export class ReceiptClock {
  readonly #last = new Map<string, number>();

  stamp(deviceId: string, now: number): number {
    const last = this.#last.get(deviceId);
    const time = last !== undefined && last >= now ? last + 1 : now;
    this.#last.set(deviceId, time);
    return time;
  }

  forget(deviceId: string): void {
    this.#last.delete(deviceId);
  }
}
