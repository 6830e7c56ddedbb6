import type { RateLimit } from './rate-limit.js';

/**
 * The API's limits, in one place; the README and the OpenAPI document show the
 * same numbers, and a request beyond one gets 400 TESTBED_LIMIT_EXCEEDED
 * naming it and saying what to do instead.
 */

/** The largest request body accepted, in bytes; a larger one is answered 413. */
export const BODY_LIMIT_BYTES = 1024 * 1024;

/** Rows a readings or rejections page holds when the request gives no `limit`. */
export const DEFAULT_QUERY_LIMIT = 1000;

/**
 * The most raw rows one page may hold. A client reads more by following the
 * `next` cursor, or exports the whole range with `format=csv|ndjson`.
 */
export const MAX_QUERY_LIMIT = 10_000;

/** The most devices one bulk registration may hold. */
export const MAX_BULK_DEVICES = 1000;

/** Limits on queries and live streams that a deployment (or a test) may tune. */
export interface ApiLimits {
  /**
   * The most windows (range / every) an aggregate answer in JSON may hold:
   * this sets the smallest window for a range. Beyond it: a larger `every`, a
   * shorter range, or an export.
   */
  readonly maxWindows: number;
  /** The most windows an exported aggregate may hold (it streams, a window at a time). */
  readonly maxExportWindows: number;
  /** The most rows (windows x devices) an aggregate answer in JSON may hold. */
  readonly maxAggregateRows: number;
  /** The longest one query may run, in ms; a query past it is stopped and answered 400. */
  readonly maxQueryMs: number;
  /** Live streams one key may hold open at once; one more is answered 429. */
  readonly maxLiveStreamsPerKey: number;
  /** Live streams all keys of one company may hold open at once; one more is answered 429. */
  readonly maxLiveStreamsPerCompany: number;
  /** Between comments on an idle live stream, so proxies keep it open; the key and the pilot are re-checked each time. */
  readonly liveHeartbeatMs: number;
  /** Readings a live stream may have waiting; beyond it the oldest are dropped and the client told how many. */
  readonly liveBufferSize: number;
}

export const API_LIMITS: ApiLimits = {
  maxWindows: 10_000,
  maxExportWindows: 1_000_000,
  maxAggregateRows: 100_000,
  maxQueryMs: 10_000,
  maxLiveStreamsPerKey: 4,
  maxLiveStreamsPerCompany: 16,
  liveHeartbeatMs: 15_000,
  liveBufferSize: 1000,
};

/** Per-key request rate: sustained per second, and the largest burst. */
export const RATE_LIMIT: RateLimit = { perSecond: 50, burst: 200 };

/** Request rate of all keys of one company together: sustained per second, and the largest burst. */
export const COMPANY_RATE_LIMIT: RateLimit = { perSecond: 100, burst: 400 };

/** Request rate without a key (open data), per client address: sustained per second, and the largest burst. */
export const ANONYMOUS_RATE_LIMIT: RateLimit = { perSecond: 5, burst: 20 };

/** Raw rows an export reads from the store at a time; its memory is bounded by this, whatever the range. */
export const EXPORT_PAGE_ROWS = 5000;
