/**
 * Rate limits and connection counts as plain data structures over a clock, so
 * they are tested without sockets; the broker hooks only ask them. (Failed
 * logins are throttled by core's FailureThrottle, shared with the API's keys.)
 */

/** How many keys a table keeps before it forgets the idlest (an attacker's many addresses cannot grow it without bound). */
const MAX_KEYS = 100_000;
/** A bucket moves to the recently-used end of its table at most this often: the order is by use to within a second, without moving it on every message. */
const REORDER_MS = 1000;

interface Bucket {
  tokens: number;
  at: number;
  /** When it was last moved to the recently-used end. */
  touched: number;
}

/** Token buckets per key: `rate` tokens a second, holding at most `burst`. */
export class RateLimiter {
  readonly #rate: number;
  readonly #burst: number;
  readonly #buckets = new Map<string, Bucket>();

  constructor(ratePerSecond: number, burst: number) {
    this.#rate = ratePerSecond;
    this.#burst = burst;
  }

  /**
   * Takes one token for `key`; returns 0 when one was there, else the ms to
   * wait until it will be. A caller that waits has its token reserved (the
   * bucket goes negative), so waiting callers queue up in order.
   */
  take(key: string, now: number, reserve = false): number {
    const bucket = this.#refill(key, now);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    const wait = Math.ceil(((1 - bucket.tokens) / this.#rate) * 1000);
    if (reserve) bucket.tokens -= 1;
    return wait;
  }

  /** Forgets a key's bucket (an erased device). */
  forget(key: string): void {
    this.#buckets.delete(key);
  }

  #refill(key: string, now: number): Bucket {
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      if (this.#buckets.size >= MAX_KEYS) this.#buckets.delete(this.#buckets.keys().next().value!);
      bucket = { tokens: this.#burst, at: now, touched: now };
      this.#buckets.set(key, bucket);
      return bucket;
    }
    bucket.tokens = Math.min(this.#burst, bucket.tokens + ((now - bucket.at) / 1000) * this.#rate);
    bucket.at = now;
    if (now - bucket.touched >= REORDER_MS) {
      // Re-inserted: the map stays ordered by last use, so the idlest key is the first.
      bucket.touched = now;
      this.#buckets.delete(key);
      this.#buckets.set(key, bucket);
    }
    return bucket;
  }
}

/** Open connections per key (client address, device) and in all, with caps. */
export class ConnectionCounter {
  readonly #counts = new Map<string, number>();
  #total = 0;

  get total(): number {
    return this.#total;
  }

  count(key: string): number {
    return this.#counts.get(key) ?? 0;
  }

  /** Counts one more for `key` unless that would pass `perKey` or `total`; returns a release function, or undefined when refused. */
  admit(key: string, perKey: number, total: number): (() => void) | undefined {
    const n = this.count(key);
    if (n >= perKey || this.#total >= total) return undefined;
    this.#counts.set(key, n + 1);
    this.#total += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#total -= 1;
      const left = (this.#counts.get(key) ?? 1) - 1;
      if (left === 0) this.#counts.delete(key);
      else this.#counts.set(key, left);
    };
  }
}
