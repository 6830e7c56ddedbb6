/**
 * Throttling of failed logins (MQTT passwords, API keys) as a plain data
 * structure over a clock, so it is tested without sockets.
 *
 * Failures are counted per client address and per (address, name) pair, where
 * the name is what was tried: an MQTT username or an API key's id. Never per
 * name alone: then anyone could lock a device or a key holder out by guessing
 * from elsewhere (a lockout weapon), and devices on mobile networks change
 * address all the time. Secrets are 160 random bits, so guesses spread over
 * many addresses gain nothing; the throttle is there to make one address's
 * guesses slow and cheap to refuse.
 */

/** Failed attempts one address may make at one name before it must wait. */
export const FREE_FAILURES_PER_NAME = 5;
/** Failed attempts one address may make in all (any names) before it must wait. */
export const FREE_FAILURES_PER_ADDRESS = 20;
/** The first wait, doubled by each further failure, up to MAX_DELAY_MS. */
export const FIRST_DELAY_MS = 1000;
export const MAX_DELAY_MS = 60 * 60 * 1000;
/** A count with no failure for this long starts over. */
const FORGET_AFTER_MS = 24 * 60 * 60 * 1000;
/** Entries a table keeps before it forgets the idlest: an attacker's many addresses cannot grow it without bound. */
const MAX_ENTRIES = 100_000;

interface Failures {
  count: number;
  last: number;
  /** Until when an attempt is refused without looking at its secret. */
  until: number;
}

/**
 * After FREE_FAILURES_PER_NAME failures of one address at one name, or
 * FREE_FAILURES_PER_ADDRESS at any names, each further attempt must wait (1 s,
 * 2 s, 4 s ... up to an hour) or is refused unchecked: 1,000 guesses from one
 * address take weeks.
 *
 * A success clears its pair's count only, never the address's (else an
 * attacker holding one valid secret could reset the count between guesses).
 * A pair that has succeeded before is exempt from its address's count: a
 * device behind the same NAT as a guesser is not locked out.
 */
export class FailureThrottle {
  readonly #byAddress = new Map<string, Failures>();
  readonly #byPair = new Map<string, Failures>();
  readonly #trusted = new Set<string>();

  /** Ms until `address` may try `name` again, or 0 for now. */
  wait(address: string, name: string, now: number): number {
    const pair = pairKey(address, name);
    const byPair = (this.#byPair.get(pair)?.until ?? 0) - now;
    const byAddress = this.#trusted.has(pair) ? 0 : (this.#byAddress.get(address)?.until ?? 0) - now;
    return Math.max(0, byPair, byAddress);
  }

  failed(address: string, name: string, now: number): void {
    note(this.#byPair, pairKey(address, name), FREE_FAILURES_PER_NAME, now);
    note(this.#byAddress, address, FREE_FAILURES_PER_ADDRESS, now);
  }

  succeeded(address: string, name: string): void {
    const pair = pairKey(address, name);
    this.#byPair.delete(pair);
    this.#trusted.delete(pair);
    if (this.#trusted.size >= MAX_ENTRIES) this.#trusted.delete(this.#trusted.values().next().value!);
    this.#trusted.add(pair);
  }
}

const pairKey = (address: string, name: string) => `${address}\n${name}`;

function note(table: Map<string, Failures>, key: string, free: number, now: number): void {
  const old = table.get(key);
  const entry = old && now - old.last < FORGET_AFTER_MS ? old : { count: 0, last: now, until: 0 };
  entry.count += 1;
  entry.last = now;
  if (entry.count > free) entry.until = now + Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** Math.min(32, entry.count - free - 1));
  table.delete(key); // re-inserted: the map stays ordered by last failure
  if (table.size >= MAX_ENTRIES) table.delete(table.keys().next().value!);
  table.set(key, entry);
}
