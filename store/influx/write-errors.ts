import { HttpError, type HttpHeaders } from '@influxdata/influxdb-client';
import { StoreWriteError } from '../types.js';
import { errorText } from './server.js';

/**
 * Statuses that mean "something in these lines": 400 (a line does not parse,
 * "partial write: field type conflict", "points beyond retention policy dropped"),
 * 413 (the body is too large) and 422 (2.x: unprocessable points). Halving the
 * batch finds the readings at fault; any other refusal (401, 403, ...) is about
 * the request as a whole, and halving it would only repeat it.
 */
const CONTENT_STATUSES: ReadonlySet<number> = new Set([400, 413, 422]);

/** What one failed write attempt means. */
export type WriteFailure = { readonly kind: 'lines'; readonly reason: string } | { readonly kind: 'batch'; readonly error: StoreWriteError };

/** The server's own words: 1.x answers `{"error":"..."}`, 2.x/3.x `{"code":..,"message":".."}`. */
export function serverReason(err: HttpError): string {
  const json: unknown = err.json;
  if (json && typeof json === 'object') {
    const { error, message } = json as { error?: unknown; message?: unknown };
    if (typeof error === 'string') return error;
    if (typeof message === 'string') return message;
  }
  return err.body || err.message;
}

/**
 * Milliseconds from a Retry-After header: delay-seconds or an HTTP-date
 * (RFC 9110 §10.2.3). Read here because the client's `HttpError.retryAfter()`
 * takes the header's number as milliseconds, a thousand times too short.
 */
export function retryAfterMs(headers: HttpHeaders | undefined, now = Date.now()): number | undefined {
  const raw = headers?.['retry-after'];
  const value = (Array.isArray(raw) ? raw[0] : raw)?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * Classifies a failed write with the client's own error information.
 *
 * - An HttpError with a content status: some lines were refused; find them.
 * - Any other HttpError: the batch failed as a whole; it may be retried when the
 *   client's `canRetry()` says the status is transient (404, 408, 425, 429, 500,
 *   502, 503, 504), after the server's Retry-After if it gave one.
 * - Anything else (refused connection, reset, the client's RequestTimedOutError or
 *   AbortError): the server never said no, so the same batch may succeed later.
 */
export function classifyWriteError(err: unknown): WriteFailure {
  if (err instanceof HttpError) {
    const reason = serverReason(err);
    if (CONTENT_STATUSES.has(err.statusCode)) return { kind: 'lines', reason };
    return {
      kind: 'batch',
      error: new StoreWriteError(`InfluxDB refused the write (${err.statusCode}): ${reason}`, err.canRetry(), retryAfterMs(err.headers), { cause: err }),
    };
  }
  return { kind: 'batch', error: new StoreWriteError(`InfluxDB write failed: ${errorText(err)}`, true, undefined, { cause: err }) };
}
