import type { ErrorCode } from '../core/errors.js';

export interface TimePolicy {
  /** How far ahead of the gateway's clock a reading's own time may be. */
  readonly maxFutureMs: number;
  /** How far behind the gateway's clock a reading's own time may be. */
  readonly maxAgeMs: number;
}

export type Timed = { readonly ok: true; readonly time: number } | { readonly ok: false; readonly code: ErrorCode; readonly reason: string };

/**
 * Turns a reading's own time (already checked for shape) into epoch ms and
 * checks it against the accepted window around `now`.
 */
export function readingTime(own: string | number, now: number, policy: TimePolicy): Timed {
  const time = typeof own === 'number' ? own : Date.parse(own);
  if (!Number.isFinite(time)) return { ok: false, code: 'TESTBED_READING_BAD_TIME', reason: `time ${JSON.stringify(own)} is not a valid date` };
  if (time > now + policy.maxFutureMs) {
    return {
      ok: false,
      code: 'TESTBED_READING_TIME_IN_FUTURE',
      reason: `time ${new Date(time).toISOString()} is more than ${policy.maxFutureMs / 1000} s ahead of the gateway clock; check the device clock`,
    };
  }
  if (time < now - policy.maxAgeMs) {
    const hint = typeof own === 'number' && own < 1e11 ? ' (it looks like epoch seconds; send milliseconds)' : '';
    return {
      ok: false,
      code: 'TESTBED_READING_TIME_TOO_OLD',
      reason: `time ${new Date(time).toISOString()} is older than ${Math.round(policy.maxAgeMs / 86_400_000)} days${hint}`,
    };
  }
  return { ok: true, time };
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
