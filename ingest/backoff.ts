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
 * A failure the store says will not pass by itself (`retryable: false`: 401, 403,
 * a closed store) waits the longest step at once: the batch stays in the queue
 * until someone fixes the store's side, and quick retries would only repeat it.
 */
export function retryDelay(attempt: number, error: unknown, policy: BackoffPolicy = DEFAULT_BACKOFF): number {
  if (error instanceof StoreWriteError && !error.retryable) return Math.max(policy.maxMs, error.retryAfterMs ?? 0);
  const cap = Math.min(policy.maxMs, policy.minMs * 2 ** Math.min(attempt, 20));
  const asked = error instanceof StoreWriteError ? (error.retryAfterMs ?? 0) : 0;
  return Math.max(asked, Math.random() * cap);
}
