/** How many requests a key may make: `perSecond` sustained, bursts of up to `burst`. */
export interface RateLimit {
  readonly perSecond: number;
  readonly burst: number;
}

/**
 * What a rate limit check needs: `take` answers 0 when the request may go
 * ahead, else the whole seconds to wait. In one process the answer is at hand;
 * a limiter that several gateway nodes share (cluster/) answers later.
 */
export interface RateBucket {
  readonly limit: RateLimit;
  take(key: string): number | Promise<number>;
}

/** Makes the limiter that `name` (`perKey`, `perCompany`, `anonymous`) uses, around this process's own. */
export type RateBuckets = (name: 'perKey' | 'perCompany' | 'anonymous', local: RateLimiter) => RateBucket;

/**
 * Per-key token buckets (one process; keys are few). A bucket holds up to
 * `burst` tokens and refills at `perSecond`; a request takes one. A bucket that
 * is full again is forgotten, so idle keys cost nothing.
 */
export class RateLimiter implements RateBucket {
  readonly #limit: RateLimit;
  readonly #now: () => number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  /** The rate and burst this limiter allows, for the messages that name them. */
  get limit(): RateLimit {
    return this.#limit;
  }

  constructor(limit: RateLimit, now: () => number = Date.now) {
    this.#limit = limit;
    this.#now = now;
  }

  /** Takes a token for `key`: 0 when the request may go ahead, else the whole seconds to wait (Retry-After). */
  take(key: string): number {
    const now = this.#now();
    const { perSecond, burst } = this.#limit;
    const bucket = this.#buckets.get(key);
    const tokens = bucket ? Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * perSecond) : burst;
    if (tokens < 1) {
      this.#buckets.set(key, { tokens, at: now });
      return Math.max(1, Math.ceil((1 - tokens) / perSecond));
    }
    this.#buckets.set(key, { tokens: tokens - 1, at: now });
    if (this.#buckets.size > 10_000) this.#forgetFull(now);
    return 0;
  }

  #forgetFull(now: number): void {
    const { perSecond, burst } = this.#limit;
    for (const [key, b] of this.#buckets) if (b.tokens + ((now - b.at) / 1000) * perSecond >= burst) this.#buckets.delete(key);
  }
}

/**
 * The bucket a request without a key takes from: its client address, which is
 * the X-Forwarded-For address when the socket is a trusted proxy
 * (TESTBED_TRUSTED_PROXIES; Fastify's `request.ip`), else the socket's. An
 * IPv4 address mapped into IPv6 is the IPv4 address; an IPv6 address counts
 * by its /64, since one host usually holds a whole /64 (RFC 6177) and could
 * otherwise take a fresh bucket per request.
 */
export function clientBucket(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1] as string;
  if (!ip.includes(':')) return ip;
  const [head = '', tail = ''] = ip.split('::', 2);
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const groups = ip.includes('::') ? [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right] : left;
  return `${groups
    .slice(0, 4)
    .map((g) => g.toLowerCase().replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}
