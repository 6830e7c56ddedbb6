/**
 * Rate limits and login throttling as plain data structures over a clock, so
 * they are tested without sockets; the broker hooks only ask them.
 */

/** How many keys a table keeps before it forgets the idlest (an attacker's many addresses cannot grow it without bound). */
const MAX_KEYS = 100_000;

/** Token buckets per key: `rate` tokens a second, holding at most `burst`. */
export class RateLimiter {
  readonly #rate: number;
  readonly #burst: number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

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

  #refill(key: string, now: number): { tokens: number; at: number } {
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      if (this.#buckets.size >= MAX_KEYS) this.#buckets.delete(this.#buckets.keys().next().value!);
      bucket = { tokens: this.#burst, at: now };
    } else {
      this.#buckets.delete(key); // re-inserted below: the map stays ordered by last use
      bucket.tokens = Math.min(this.#burst, bucket.tokens + ((now - bucket.at) / 1000) * this.#rate);
      bucket.at = now;
    }
    this.#buckets.set(key, bucket);
    return bucket;
  }
}

/** Failed logins an address or a username gets before it must wait. */
export const FREE_FAILURES = 5;
/** The first wait, doubled by each further failure, up to MAX_DELAY_MS. */
export const FIRST_DELAY_MS = 1000;
export const MAX_DELAY_MS = 60 * 60 * 1000;

interface Failures {
  count: number;
  /** Until when a login is refused without looking at its password. */
  until: number;
}

/**
 * Failed MQTT logins, per client address and per username. After
 * FREE_FAILURES failures, each further attempt must wait (1 s, 2 s, 4 s ... up
 * to an hour) or it is refused unchecked, so 1,000 guesses take days.
 *
 * A username's throttle does not apply to an address the device has logged in
 * from before: guesses from elsewhere cannot lock the real device out (no
 * lockout weapon). A success clears the address's and the username's count.
 */
export class LoginThrottle {
  readonly #byAddress = new Map<string, Failures>();
  readonly #byUsername = new Map<string, Failures>();
  /** `${username}\n${address}` pairs that have logged in; bounded like the rest. */
  readonly #trusted = new Set<string>();

  /** Ms until `address` may try `username` again, or 0 now. */
  wait(address: string, username: string, now: number): number {
    const byAddress = (this.#byAddress.get(address)?.until ?? 0) - now;
    const trusted = this.#trusted.has(`${username}\n${address}`);
    const byUsername = trusted ? 0 : (this.#byUsername.get(username)?.until ?? 0) - now;
    return Math.max(0, byAddress, byUsername);
  }

  failed(address: string, username: string, now: number): void {
    note(this.#byAddress, address, now);
    note(this.#byUsername, username, now);
  }

  succeeded(address: string, username: string): void {
    this.#byAddress.delete(address);
    this.#byUsername.delete(username);
    if (this.#trusted.size >= MAX_KEYS) this.#trusted.delete(this.#trusted.values().next().value!);
    this.#trusted.add(`${username}\n${address}`);
  }
}

function note(table: Map<string, Failures>, key: string, now: number): void {
  const entry = table.get(key) ?? { count: 0, until: 0 };
  entry.count += 1;
  if (entry.count > FREE_FAILURES) entry.until = now + Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** (entry.count - FREE_FAILURES - 1));
  table.delete(key);
  if (table.size >= MAX_KEYS) table.delete(table.keys().next().value!);
  table.set(key, entry);
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
