import { FailureThrottle, TestbedError } from '../core/index.js';
import { ANONYMOUS_RATE_LIMIT, COMPANY_RATE_LIMIT, RATE_LIMIT } from './limits.js';
import { RateLimiter, type RateBucket, type RateBuckets, type RateLimit } from './rate-limit.js';

/**
 * Guards around API keys that do not depend on which key it is: keys in URLs
 * (refused and never logged) and the throttle on failed keys.
 */

/** Query parameters that clients and libraries use to carry a credential. */
const CREDENTIAL_PARAMS = new Set(['key', 'apikey', 'api_key', 'api-key', 'access_token', 'token', 'auth', 'authorization', 'bearer']);
/** A value shaped like one of our keys (`key_<id>.<secret>`), whatever the parameter is called. */
const KEY_SHAPE = /key_[a-z0-9]{8,}\.[a-z0-9]{16,}/i;

function query(url: string): string | undefined {
  const q = url.indexOf('?');
  return q < 0 ? undefined : url.slice(q + 1);
}

function credentialParams(url: string): URLSearchParams | undefined {
  const raw = query(url);
  if (raw === undefined) return undefined;
  try {
    return new URLSearchParams(raw);
  } catch {
    return undefined;
  }
}

/** Whether a request URL carries a key in its query string (by parameter name, or by the shape of a value). */
export function keyInUrl(url: string): boolean {
  const raw = query(url);
  if (raw === undefined) return false;
  if (KEY_SHAPE.test(decodeSafely(raw))) return true;
  for (const name of credentialParams(url)?.keys() ?? []) if (CREDENTIAL_PARAMS.has(name.toLowerCase())) return true;
  return false;
}

/** The URL fit for a log line or the audit log: a query that carries a key is replaced as a whole. */
export function redactUrl(url: string): string {
  return keyInUrl(url) ? `${url.slice(0, url.indexOf('?'))}?[redacted]` : url;
}

function decodeSafely(raw: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    return raw;
  }
}

/** Refuses a request whose URL carries a key (400 TESTBED_KEY_IN_URL): URLs end up in logs, proxies and browser history. */
export function refuseKeyInUrl(url: string): void {
  if (keyInUrl(url)) {
    throw new TestbedError(
      'TESTBED_KEY_IN_URL',
      'An API key may not be sent in the URL (it would be kept in logs and histories); send it as Authorization: Bearer <key>, and consider this key exposed',
    );
  }
}

/** The name a failed key is counted under: its id (the part before the dot), capped; never its secret. */
export function keyIdOf(token: string | undefined): string {
  if (token === undefined) return '';
  const dot = token.indexOf('.');
  return dot > 0 ? token.slice(0, Math.min(dot, 64)) : '(no id)';
}

/**
 * Failed API keys, per client address and per address and key id (see
 * FailureThrottle: never per key id alone, so nobody can lock a key's holder
 * out by guessing from elsewhere).
 */
export class KeyThrottle {
  readonly #failures = new FailureThrottle();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Throws 429 TESTBED_KEY_THROTTLED (with Retry-After) when `address` must wait before trying `keyId` again. */
  check(address: string, keyId: string): void {
    const wait = this.#failures.wait(address, keyId, this.#now());
    if (wait <= 0) return;
    const seconds = Math.ceil(wait / 1000);
    throw new TestbedError('TESTBED_KEY_THROTTLED', `Too many failed API keys from this address; retry in ${seconds} s`, { retryAfterSeconds: seconds });
  }

  failed(address: string, keyId: string): void {
    this.#failures.failed(address, keyId, this.#now());
  }

  succeeded(address: string, keyId: string): void {
    this.#failures.succeeded(address, keyId);
  }
}

/** The request rates a key, a company's keys together, and a client without a key may make. */
export interface RateLimits {
  readonly perKey: RateLimit;
  readonly perCompany: RateLimit;
  readonly anonymous: RateLimit;
}

/**
 * The state the API key hook keeps, shared by every subtree behind it (/v1,
 * SensorThings, metrics), so that a key's rate and its failures count once
 * whichever part it calls.
 */
export class KeyGuards {
  readonly limits: RateLimits;
  readonly perKey: RateBucket;
  readonly perCompany: RateBucket;
  readonly anonymous: RateBucket;
  readonly failures = new KeyThrottle();

  /** `shared`: the limiters several nodes share, around this process's own; without it each process counts alone. */
  constructor(limits: { readonly [K in keyof RateLimits]?: RateLimit | undefined } = {}, shared: RateBuckets = (_name, local) => local) {
    this.limits = {
      perKey: limits.perKey ?? RATE_LIMIT,
      perCompany: limits.perCompany ?? COMPANY_RATE_LIMIT,
      anonymous: limits.anonymous ?? ANONYMOUS_RATE_LIMIT,
    };
    this.perKey = shared('perKey', new RateLimiter(this.limits.perKey));
    this.perCompany = shared('perCompany', new RateLimiter(this.limits.perCompany));
    this.anonymous = shared('anonymous', new RateLimiter(this.limits.anonymous));
  }
}
