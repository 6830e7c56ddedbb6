import { StoreWriteError } from '../store/index.js';

export interface BackoffPolicy {
  readonly minMs: number;
  readonly maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { minMs: 100, maxMs: 30_000 };

/**
 * How long to wait before attempt `attempt + 1` of a failed write: exponential
 * backoff with full jitter (a random wait up to the cap, so writers that failed
 * together do not retry together), and never less than the store's Retry-After.
 */
export function retryDelay(attempt: number, error: unknown, policy: BackoffPolicy = DEFAULT_BACKOFF): number {
  const cap = Math.min(policy.maxMs, policy.minMs * 2 ** Math.min(attempt, 20));
  const asked = error instanceof StoreWriteError ? (error.retryAfterMs ?? 0) : 0;
  return Math.max(asked, Math.random() * cap);
}
