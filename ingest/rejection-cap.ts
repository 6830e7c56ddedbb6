import type { Rejection } from '../store/index.js';

/**
 * Bounds on rejection records, so that a hostile or broken device cannot turn
 * a few small messages into megabytes on disk (one 16 KB SenML pack of bad
 * records would otherwise be hundreds of records, each with the payload).
 */

/** The most rejection records one message becomes; the last says how many more problems it had. */
export const MAX_REJECTIONS_PER_MESSAGE = 10;

/**
 * A message's rejections, bounded: at most MAX_REJECTIONS_PER_MESSAGE records,
 * the last of them a summary of the rest when there are more; the raw payload
 * kept once, with the first record (the others say where it is).
 */
export function capRejections(rejections: readonly Rejection[]): readonly Rejection[] {
  if (rejections.length <= 1) return rejections;
  const kept = rejections.slice(0, MAX_REJECTIONS_PER_MESSAGE).map((r, i) => (i === 0 ? r : { ...r, payload: '', payloadEncoding: 'utf8' as const }));
  const more = rejections.length - MAX_REJECTIONS_PER_MESSAGE;
  if (more > 0) {
    const last = kept[kept.length - 1]!;
    kept[kept.length - 1] = {
      ...last,
      reason: `${last.reason}; and ${more} more problems in this message, not recorded one by one (the payload is with its first rejection)`,
    };
  }
  return kept;
}

/**
 * Rejection records a device may have stored a minute
 * (TESTBED_REJECTIONS_PER_DEVICE_PER_MINUTE); beyond, they are counted, not
 * stored. A token bucket per device, holding a minute's worth.
 */
export class RejectionBudget {
  readonly #perMinute: number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(perMinute: number) {
    this.#perMinute = perMinute;
  }

  /** Forgets a device's budget (its pilot was erased). */
  forget(deviceId: string): void {
    this.#buckets.delete(deviceId);
  }

  /** How many of `wanted` records `deviceId` may store now (taken from its budget). */
  take(deviceId: string, wanted: number, now: number): number {
    if (wanted === 0) return 0;
    const old = this.#buckets.get(deviceId);
    const tokens = old ? Math.min(this.#perMinute, old.tokens + ((now - old.at) / 60_000) * this.#perMinute) : this.#perMinute;
    const granted = Math.min(wanted, Math.floor(tokens));
    this.#buckets.delete(deviceId);
    // Devices are bounded by the registry; still, forget the idlest beyond a generous count.
    if (this.#buckets.size >= 100_000) this.#buckets.delete(this.#buckets.keys().next().value!);
    this.#buckets.set(deviceId, { tokens: tokens - granted, at: now });
    return granted;
  }
}
