import type { ErrorCode, Scope } from '../core/index.js';

/** Where a reading belongs; stored as tags so a pilot's, company's or testbed's data can be selected. */
export interface ReadingTags {
  readonly deviceId: string;
  readonly pilotId: string;
  readonly companyId: string;
  readonly testbedId: string;
  readonly profile: string;
}

/** One validated, normalised reading: a device's values at one instant. */
export interface Reading extends ReadingTags {
  /** Epoch milliseconds. Two readings of one device at the same time are the same reading. */
  readonly time: number;
  /** Measurement name -> value in the profile's canonical unit. */
  readonly values: Readonly<Record<string, number>>;
  /**
   * The quality flag: names of the measurements whose value is outside its
   * plausible range (inside the physical one, or it would have been rejected).
   * Absent when every value is plausible.
   */
  readonly suspect?: readonly string[] | undefined;
  /**
   * The measurements whose value has been the same the profile's `stuckAfter`
   * readings in a row (this one included): a frozen sensor. Absent when none.
   */
  readonly stuck?: readonly string[] | undefined;
  /** True when the reading follows a silence longer than the profile's silent threshold. Absent otherwise. */
  readonly gap?: boolean | undefined;
  /**
   * The device's display name when the reading arrived, for dashboards' legends
   * only (InfluxDB writes it as the `device_name` tag). Never read back: a
   * device is always its id. Absent or null when it has none.
   */
  readonly deviceName?: string | null | undefined;
}

/** A reading that was not stored, with why. */
export interface Rejection {
  readonly deviceId: string;
  readonly pilotId: string;
  readonly companyId: string;
  readonly testbedId: string;
  /** Epoch ms of receipt. */
  readonly time: number;
  readonly code: ErrorCode;
  readonly reason: string;
  /** The raw payload, capped; UTF-8 text, or base64 when it is not valid UTF-8. */
  readonly payload: string;
  readonly payloadEncoding: 'utf8' | 'base64';
  /** The size of the whole payload in bytes, before capping. */
  readonly payloadBytes: number;
  /**
   * Identifies the rejection where it came from (its queue position), so that
   * recording it again after a crash keeps one record.
   */
  readonly key?: string | undefined;
}

export interface TimeRange {
  /** Inclusive, epoch ms. */
  readonly from?: number | undefined;
  /** Exclusive, epoch ms. */
  readonly to?: number | undefined;
  readonly limit: number;
}

export interface DeviceQuery extends TimeRange {
  readonly deviceId: string;
}

export interface ReadingRow {
  readonly time: number;
  readonly values: Record<string, number>;
  /** The reading's quality flag (see Reading.suspect); absent when every value was plausible. */
  readonly suspect?: readonly string[];
  /** The reading's stuck flag (see Reading.stuck); absent when none. */
  readonly stuck?: readonly string[];
  /** The reading's gap flag (see Reading.gap); absent when not raised. */
  readonly gap?: boolean;
}

/** Which readings a query reads: one device's, or those of every device of a pilot. */
export type Selection = { readonly kind: 'device'; readonly deviceId: string } | { readonly kind: 'pilot'; readonly pilotId: string };

/** A place in the (time, deviceId) order every multi-device answer is in: the last row of a page. */
export interface Position {
  readonly time: number;
  readonly deviceId: string;
}

/** A reading with the device it came from. */
export interface SeriesRow extends ReadingRow {
  readonly deviceId: string;
}

/**
 * The newest value of each measurement of a device, each from the newest reading
 * that carries it: `values` and `times` (epoch ms) by measurement, `time` the
 * newest of those times, `suspect` the measurements whose newest value was flagged.
 */
export interface LatestRow extends SeriesRow {
  readonly times: Readonly<Record<string, number>>;
}

/** Raw readings in [from, to), after `after`, in (time, deviceId) order. */
export interface RawQuery {
  readonly select: Selection;
  /** Inclusive and exclusive, epoch ms. */
  readonly from: number;
  readonly to: number;
  /** Continue after this row (a cursor); rows at or before it are not returned. */
  readonly after?: Position | undefined;
  /** Only these measurements; a reading with none of them is left out. All when undefined. */
  readonly measurements?: readonly string[] | undefined;
  readonly limit: number;
  /** Epoch ms past which the store gives up with QueryTimeExceeded. */
  readonly deadline: number;
}

export const AGGREGATE_FUNCTIONS = ['mean', 'min', 'max', 'sum', 'count', 'first', 'last'] as const;
export type AggregateFunction = (typeof AGGREGATE_FUNCTIONS)[number];

/**
 * Windowed aggregates: per device and measurement, `fn` over each window of
 * `every` ms. Windows are aligned to the epoch (a window starts at a multiple of
 * `every`: UTC midnight for 1d); a row's time is its window's start. Windows
 * without readings are left out. `from` and `to` are multiples of `every`.
 */
export interface AggregateQuery {
  readonly select: Selection;
  readonly from: number;
  readonly to: number;
  readonly every: number;
  readonly fn: AggregateFunction;
  readonly measurements?: readonly string[] | undefined;
  readonly deadline: number;
}

/** The newest value of each measurement of these devices of a pilot. */
export interface LatestQuery {
  readonly pilotId: string;
  readonly deviceIds: readonly string[];
  readonly measurements?: readonly string[] | undefined;
}

/** A pilot's readings, or those older than `before` (epoch ms, exclusive): what an erasure or a retention sweep covers. */
export interface PilotSlice {
  readonly pilotId: string;
  readonly before?: number | undefined;
}

/** Readings per device id. */
export type DeviceCounts = Record<string, number>;

/** A query a store ran to show that nothing of a pilot is left, and what it found (0 when nothing). */
export interface ErasureCheck {
  readonly store: string;
  readonly query: string;
  readonly result: number;
}

/**
 * A query ran past its deadline and was stopped. Not a store failure: the
 * question was too big for the longest query time, and asking it again will not help.
 */
export class QueryTimeExceeded extends Error {
  constructor() {
    super('the query ran past its deadline');
    this.name = 'QueryTimeExceeded';
  }
}

export interface RejectionRow {
  readonly time: number;
  readonly code: string;
  readonly reason: string;
  readonly payload: string;
  readonly payloadEncoding: 'utf8' | 'base64';
  readonly payloadBytes: number;
}

/** A reading the store refused for itself (not a validation failure), by index in the batch. */
export interface RefusedReading {
  readonly index: number;
  readonly reason: string;
}

export interface WriteResult {
  /** Readings the store would not take; the rest of the batch was stored. */
  readonly refused: readonly RefusedReading[];
}

/**
 * Thrown by a store write that failed as a whole. `retryable` says whether the
 * same batch may succeed later by itself (an outage, 5xx, 429) or not until the
 * store's side changes (401, 403, a closed store). The ingest drainer retries
 * both, never dropping the batch, but waits the longest backoff step and logs an
 * error for the second; `InfluxStore.open` waits for a server that is only not
 * answering yet and fails start on one that refuses.
 */
export class StoreWriteError extends Error {
  readonly retryable: boolean;
  /** Milliseconds the store asked us to wait (Retry-After), if it said. */
  readonly retryAfterMs: number | undefined;

  constructor(message: string, retryable: boolean, retryAfterMs?: number, options?: ErrorOptions) {
    super(message, options);
    this.name = 'StoreWriteError';
    this.retryable = retryable;
    this.retryAfterMs = retryAfterMs;
  }
}

/**
 * The one interface every reading store implements. `test/store-contract.ts`
 * holds the suite that each implementation passes against the real thing.
 *
 * Writes are idempotent: writing a reading of the same device and time again
 * replaces it, so a batch retried after a partial failure stores each reading
 * once.
 */
export interface ReadingStore {
  readonly kind: 'embedded' | 'influx';
  /**
   * Stores a batch. `encoded`, when given, is the same batch as the ingest
   * queue's records (see reading-codec.js), UTF-8, each followed by a newline,
   * in an ArrayBuffer of its own: a store that can read it (the embedded one, whose
   * writer thread parses it) may take that buffer over instead of copying the
   * reading objects to another thread. The caller does not use it after.
   */
  write(readings: readonly Reading[], encoded?: Buffer): Promise<WriteResult>;
  /** Raw readings of a device or a pilot, in (time, deviceId) order, limited to the scope. */
  queryRaw(scope: Scope, query: RawQuery): Promise<SeriesRow[]>;
  /** Windowed aggregates in (time, deviceId) order, limited to the scope. Each row's values are those the window has. */
  queryAggregate(scope: Scope, query: AggregateQuery): Promise<SeriesRow[]>;
  /**
   * Per device that has one, in deviceId order, the newest value of each measurement
   * (of the chosen ones), each with its own time: a reading that carries only some
   * measurements hides none of the others. Limited to the scope.
   */
  queryLatest(scope: Scope, query: LatestQuery): Promise<LatestRow[]>;
  /**
   * How many readings of the slice each device has (devices without any left
   * out). On InfluxDB, which counts fields rather than points, a device's count
   * is that of its most frequent measurement.
   */
  countReadings(scope: Scope, slice: PilotSlice): Promise<DeviceCounts>;
  /**
   * Deletes the slice's readings in steps that let writes in between, so a
   * large deletion does not hold up ingest. Deleting a whole pilot also drops
   * what the store keeps beside its readings (newest values, series) and
   * reclaims the space. Idempotent.
   */
  deleteReadings(scope: Scope, slice: PilotSlice): Promise<void>;
  /** Queries this store itself for anything left of the pilot: each check with its result, 0 when nothing. */
  checkErased(pilotId: string): Promise<ErasureCheck[]>;
  /** True when the store answers. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** Where rejections are kept; always the embedded database. */
export interface RejectionLog {
  writeRejections(rejections: readonly Rejection[]): Promise<void>;
  /** Rejections of one device, oldest first, limited to the scope. */
  queryRejections(scope: Scope, query: DeviceQuery): Promise<RejectionRow[]>;
  /** A pilot's rejections in the order they were recorded, after the one numbered `afterId`, limited to the scope. */
  pilotRejections(scope: Scope, query: { pilotId: string; afterId: number; limit: number }): Promise<PilotRejectionRow[]>;
  /** Rejections of a pilot per device. */
  countRejections(pilotId: string): Promise<DeviceCounts>;
  /** Deletes a pilot's rejections. Idempotent. */
  deleteRejections(pilotId: string): Promise<void>;
  /** Queries the log itself for anything left of the pilot: each check with its result, 0 when nothing. */
  checkErased(pilotId: string): Promise<ErasureCheck[]>;
  /** Deletes every rejection received before `time` (epoch ms): the retention, TESTBED_REJECTIONS_RETENTION_DAYS. */
  deleteRejectionsBefore(time: number): Promise<void>;
}

/** A rejection of a pilot, with its device and its number in the log (for paging). */
export interface PilotRejectionRow extends RejectionRow {
  readonly id: number;
  readonly deviceId: string;
}
