const HOUR = 3_600_000;

/**
 * Rejections per device and code in a sliding hour, kept in memory: a bucket
 * per minute, so counting is cheap and the memory per device is bounded.
 */
export class RejectionCounter {
  readonly #buckets = new Map<string, Map<number, Map<string, number>>>();

  add(deviceId: string, code: string, at: number): void {
    const minute = Math.floor(at / 60_000);
    let device = this.#buckets.get(deviceId);
    if (!device) this.#buckets.set(deviceId, (device = new Map()));
    let bucket = device.get(minute);
    if (!bucket) device.set(minute, (bucket = new Map()));
    bucket.set(code, (bucket.get(code) ?? 0) + 1);
  }

  /** Forgets a device's counts (its pilot was erased). */
  forget(deviceId: string): void {
    this.#buckets.delete(deviceId);
  }

  /** The rejections of the last hour by code. */
  lastHour(deviceId: string, now: number): Record<string, number> {
    const counts: Record<string, number> = {};
    const device = this.#buckets.get(deviceId);
    if (!device) return counts;
    const oldest = Math.floor((now - HOUR) / 60_000);
    for (const [minute, bucket] of device) {
      if (minute <= oldest) device.delete(minute);
      else for (const [code, n] of bucket) counts[code] = (counts[code] ?? 0) + n;
    }
    if (device.size === 0) this.#buckets.delete(deviceId);
    return counts;
  }

  total(deviceId: string, now: number): number {
    return Object.values(this.lastHour(deviceId, now)).reduce((a, b) => a + b, 0);
  }
}
