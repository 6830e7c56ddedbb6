import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../core/log.js';
import { StoreWriteError } from '../core/store/types.js';

export interface BatchWriterOptions<T> {
  readonly name: string;
  readonly batchSize: number;
  readonly flushIntervalMs: number;
  /** Items held at most; past it `push` reports that the caller should wait. */
  readonly maxBacklog: number;
  /** Writes one batch; throws StoreWriteError when the batch as a whole failed. */
  write(batch: T[]): Promise<void>;
  /** A batch the store will never take (a non-retryable error). */
  onFailed(batch: T[], error: Error): void;
  readonly log: Logger;
  /** Retry backoff bounds, ms. */
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
}

/**
 * Collects items into batches and writes one batch at a time, in order: when a
 * batch is full, or `flushIntervalMs` after the first item of a batch arrived.
 * Retryable failures are retried with exponential backoff and full jitter,
 * honouring the store's Retry-After; other failures hand the batch to `onFailed`.
 */
export class BatchWriter<T> {
  readonly #o: BatchWriterOptions<T>;
  /** Batches in order; only the last may be partly filled. */
  readonly #chunks: T[][] = [];
  #size = 0;
  #timer: NodeJS.Timeout | undefined;
  #pumping = false;
  #flushRequested = false;
  #closing = false;
  #waiters: (() => void)[] = [];
  #idle: (() => void)[] = [];
  #failures = 0;

  constructor(options: BatchWriterOptions<T>) {
    this.#o = options;
  }

  /** Items not yet written. */
  get backlog(): number {
    return this.#size;
  }

  /** Consecutive failed attempts of the current batch (0 when healthy). */
  get failures(): number {
    return this.#failures;
  }

  /** Adds an item. Returns false when the backlog is at its limit: wait for `whenRoom`. */
  push(item: T): boolean {
    let last = this.#chunks[this.#chunks.length - 1];
    if (!last || last.length >= this.#o.batchSize) {
      last = [];
      this.#chunks.push(last);
    }
    last.push(item);
    this.#size++;
    if (last.length >= this.#o.batchSize) this.#kick();
    else this.#timer ??= setTimeout(() => this.#kick(), this.#o.flushIntervalMs);
    return this.#size < this.#o.maxBacklog;
  }

  /** Calls `callback` once the backlog is below its limit. */
  whenRoom(callback: () => void): void {
    if (this.#size < this.#o.maxBacklog) callback();
    else this.#waiters.push(callback);
  }

  /** Writes everything pushed so far; resolves when the backlog is empty. */
  flush(): Promise<void> {
    if (this.#size === 0 && !this.#pumping) return Promise.resolve();
    return new Promise((resolve) => {
      this.#idle.push(resolve);
      this.#kick();
    });
  }

  /** Flushes for at most `deadlineMs`; resolves with the number of items left unwritten. */
  async close(deadlineMs: number): Promise<number> {
    this.#closing = true;
    const deadline = sleep(deadlineMs, 'deadline' as const, { ref: false });
    await Promise.race([this.flush(), deadline]);
    clearTimeout(this.#timer);
    return this.#size;
  }

  #kick(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#flushRequested = true;
    if (!this.#pumping) void this.#pump();
  }

  async #pump(): Promise<void> {
    this.#pumping = true;
    try {
      while (this.#chunks.length > 0) {
        const batch = this.#chunks[0] as T[];
        // A partial batch waits for its timer unless a flush was asked for.
        if (batch.length < this.#o.batchSize && !this.#flushRequested && !this.#closing) break;
        if (this.#chunks.length === 1) this.#flushRequested = false;
        const written = await this.#attempt(batch);
        if (!written) continue; // retry the same batch after the backoff
        this.#chunks.shift();
        this.#size -= batch.length;
        this.#release();
      }
    } finally {
      this.#pumping = false;
      if (this.#chunks.length > 0 && this.#chunks[0]!.length > 0) this.#timer ??= setTimeout(() => this.#kick(), this.#o.flushIntervalMs);
      if (this.#size === 0) for (const done of this.#idle.splice(0)) done();
    }
  }

  /** One write attempt; true when the batch is done with (stored or failed for good). */
  async #attempt(batch: T[]): Promise<boolean> {
    // Items pushed while a partial batch is being written go to a fresh batch.
    if (this.#chunks[this.#chunks.length - 1] === batch) this.#chunks.push([]);
    try {
      await this.#o.write(batch);
      if (this.#failures > 0) this.#o.log.info({ writer: this.#o.name, attempts: this.#failures + 1 }, 'store write recovered');
      this.#failures = 0;
      return true;
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      if (!(error instanceof StoreWriteError) || !error.retryable) {
        this.#o.log.error({ writer: this.#o.name, err: error, items: batch.length }, 'store refused a batch');
        this.#failures = 0;
        this.#o.onFailed(batch, error);
        return true;
      }
      this.#failures++;
      const cap = Math.min(this.#o.maxBackoffMs ?? 30_000, (this.#o.minBackoffMs ?? 100) * 2 ** Math.min(this.#failures, 20));
      const wait = Math.max(error.retryAfterMs ?? 0, Math.random() * cap);
      this.#o.log.warn({ writer: this.#o.name, err: error, attempt: this.#failures, retryInMs: Math.round(wait), backlog: this.#size }, 'store write failed; will retry');
      await sleep(wait);
      return false;
    } finally {
      const last = this.#chunks[this.#chunks.length - 1];
      if (last && last.length === 0 && this.#chunks.length > 1) this.#chunks.pop();
    }
  }

  #release(): void {
    while (this.#waiters.length > 0 && this.#size < this.#o.maxBacklog) this.#waiters.shift()!();
  }
}
