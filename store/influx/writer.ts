import type { WriteApi, WriteOptions } from '@influxdata/influxdb-client';
import type { RefusedReading } from '../types.js';
import { classifyWriteError, type WriteFailure } from './write-errors.js';

/** Lines in one request at most; a larger write is sent in pieces of this size. */
export const MAX_LINES_PER_REQUEST = 50_000;

/**
 * WriteApi options that make one `flush()` exactly one request whose outcome we
 * get. The ingest BatchWriter already batches, and retries with backoff, jitter
 * and Retry-After, and it needs each attempt's outcome to decide; a second
 * buffer, timer or retry loop inside the client would hide both. So:
 * - `maxRetries: 0`, and `writeFailed` hands the error back (which also keeps the
 *   client from logging it and from filling its retry buffer);
 * - `flushInterval: 0`: no timer of its own;
 * - `batchSize` above the most lines we send at once and no byte limit, so the
 *   buffer never sends on its own (a send it starts itself would swallow the error).
 *   A body the server finds too large comes back as 413 and is halved like any refusal.
 */
export const WRITE_OPTIONS: Partial<WriteOptions> = {
  batchSize: MAX_LINES_PER_REQUEST + 1,
  maxBatchBytes: Number.POSITIVE_INFINITY,
  flushInterval: 0,
  maxRetries: 0,
  maxBufferLines: 0,
  writeFailed: (error: Error) => Promise.reject(error),
};

export interface LinesResult {
  /** Lines the server refused, by index into the lines written, in order. */
  readonly refused: RefusedReading[];
  readonly requests: number;
}

/**
 * Writes lines through the client's WriteApi and finds, by bisection, exactly
 * which lines the server refuses. Re-sending the halves that were fine is safe:
 * a point with the same measurement, tags and time overwrites itself.
 */
export class LineWriter {
  readonly #api: WriteApi;

  constructor(api: WriteApi) {
    this.#api = api;
  }

  /** Throws StoreWriteError when the write failed as a whole (see classifyWriteError). */
  async write(lines: string[]): Promise<LinesResult> {
    const result = { refused: [] as RefusedReading[], requests: 0 };
    for (let from = 0; from < lines.length; from += MAX_LINES_PER_REQUEST) {
      await this.#bisect(lines, from, Math.min(lines.length, from + MAX_LINES_PER_REQUEST), result);
    }
    return result;
  }

  async #bisect(lines: string[], from: number, to: number, result: { refused: RefusedReading[]; requests: number }): Promise<void> {
    result.requests++;
    const failure = await this.#attempt(lines, from, to);
    if (failure === undefined) return;
    if (failure.kind === 'batch') throw failure.error;
    if (to - from === 1) {
      result.refused.push({ index: from, reason: failure.reason });
      return;
    }
    const mid = from + ((to - from) >>> 1);
    await this.#bisect(lines, from, mid, result);
    await this.#bisect(lines, mid, to, result);
  }

  async #attempt(lines: string[], from: number, to: number): Promise<WriteFailure | undefined> {
    // Buffered and flushed in one synchronous turn, so these lines and no others
    // (not even those of a concurrent write) make up the request.
    this.#api.writeRecords(from === 0 && to === lines.length ? lines : lines.slice(from, to));
    try {
      await this.#api.flush();
      return undefined;
    } catch (err) {
      return classifyWriteError(err);
    }
  }
}
