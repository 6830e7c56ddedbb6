/**
 * The SensorThings service's limits; the README shows the same numbers.
 * OGC 18-088 9.3.3.1: a service may return fewer entities than $top asks,
 * with an @iot.nextLink to the rest.
 */
export const STA_LIMITS = {
  /** Entities a page holds when the request gives no $top. */
  defaultTop: 100,
  /** The most entities one page holds, whatever $top says; the rest follows @iot.nextLink. */
  maxTop: 1000,
  /** Readings one Observations page may read from the store before it answers with what it has and a nextLink. */
  maxScanRows: 100_000,
  /** Observations an answer ordered other than by phenomenonTime ascending may sort (or $count may count); beyond: 400. */
  maxSortObservations: 20_000,
  /** Readings read from the store at a time. */
  batchRows: 2000,
};
export type StaLimits = typeof STA_LIMITS;
