/**
 * The API's limits, in one place; the README documents the same numbers.
 */

/** The largest request body accepted, in bytes; a larger one is answered 413. */
export const BODY_LIMIT_BYTES = 1024 * 1024;

/** Rows a readings or rejections query returns when it gives no `limit`. */
export const DEFAULT_QUERY_LIMIT = 1000;

/**
 * The most rows one readings or rejections query may ask for. A client reads
 * more by paging: the next request's `from` is 1 ms after the last time returned.
 */
export const MAX_QUERY_LIMIT = 10_000;
