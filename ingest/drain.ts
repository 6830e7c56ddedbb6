import { setTimeout as sleep } from 'node:timers/promises';
import { isoTime, type Logger } from '../core/index.js';
import { RECORD_SEPARATOR, StoreWriteError, type Reading, type ReadingStore, type Rejection, type RejectionLog } from '../store/index.js';
import { DEFAULT_BACKOFF, retryDelay, type BackoffPolicy } from './backoff.js';
import { rejectionOf } from './pipeline.js';
import type { DurableQueue, QueuedRecord } from './queue.js';

export interface DrainerOptions {
  readonly batchSize: number;
  /** How long a partial batch waits for more readings. */
  readonly lingerMs: number;
  readonly log: Logger;
  readonly backoff?: BackoffPolicy;
  /** Called with each batch of readings once stored (for live subscribers). */
  readonly onStored?: (readings: readonly Reading[]) => void;
  /** Called with the readings the store refused, once they are recorded as rejections. */
  readonly onRefused?: (rejections: readonly Rejection[]) => void;
  /** Called with every rejection of a batch (the pipeline's and the store's), once recorded. */
  readonly onRejected?: (rejections: readonly Rejection[]) => void;
}

export interface DrainerState {
  /** False while writes to the store are failing. */
  storeReachable: boolean;
  consecutiveFailures: number;
  lastError: string | undefined;
  stored: number;
  refused: number;
}

/** A batch's readings once the store has them, and the ones it refused (by index). */
interface WrittenReadings {
  readonly readings: readonly Reading[];
  readonly refusedAt: readonly { readonly index: number; readonly reason: string }[];
}

/**
 * Delivers the queue to the stores in batches, oldest first: a batch's
 * readings are written while the batch before it finishes, and batches are
 * committed in order. A batch is committed only once its readings are in the
 * reading store and its rejections in the rejection log, and every batch
 * before it is committed; until then it is retried with backoff, so an
 * outage of minutes only grows the queue on disk. A reading the store refuses
 * becomes a rejection with the store's reason, so a poison reading never
 * blocks the queue.
 */
export class Drainer {
  readonly #queue: DurableQueue;
  readonly #store: ReadingStore;
  readonly #rejections: RejectionLog;
  readonly #o: DrainerOptions;
  readonly #abort = new AbortController();
  readonly #state: DrainerState = { storeReachable: true, consecutiveFailures: 0, lastError: undefined, stored: 0, refused: 0 };
  #loop: Promise<void> | undefined;
  #committedWaiters: (() => void)[] = [];

  constructor(queue: DurableQueue, store: ReadingStore, rejections: RejectionLog, options: DrainerOptions) {
    this.#queue = queue;
    this.#store = store;
    this.#rejections = rejections;
    this.#o = options;
  }

  get state(): Readonly<DrainerState> {
    return this.#state;
  }

  start(): void {
    this.#loop ??= this.#run().catch((err: unknown) => this.#o.log.fatal({ err }, 'queue delivery stopped'));
  }

  /**
   * Delivers what it can within `deadlineMs`, then stops. What is left stays in
   * the queue on disk and is delivered after the next start.
   */
  async stop(deadlineMs: number): Promise<{ left: number }> {
    const deadline = Date.now() + deadlineMs;
    await this.#queue.flush().catch(() => undefined);
    while (this.#queue.depthBytes > 0 && Date.now() < deadline && this.#loop) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.#committedWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    this.#abort.abort();
    await this.#queue.close();
    // A store request in flight ends by its own timeout; do not wait past the deadline for it.
    if (this.#loop) await Promise.race([this.#loop, sleep(Math.max(100, deadline - Date.now()), undefined, { ref: false })]);
    return { left: this.#queue.depthBytes };
  }

  async #run(): Promise<void> {
    // Two batches at a time: the next batch's readings go to the store while the one before it
    // finishes (its rejections, its listeners, its commit), so the store is not left idle while
    // this thread is busy with readings arriving. Batches finish, and are committed, in queue order.
    let finishing: Promise<boolean> = Promise.resolve(true);
    while (!this.#abort.signal.aborted) {
      const records = await this.#queue.take(this.#o.batchSize, this.#o.lingerMs);
      if (records.length === 0) continue;
      const writing = this.#writeReadings(records);
      const before = finishing;
      finishing = before.then((ok) => ok && this.#finish(records, writing));
      // A failure (a listener that throws) is thrown where it is awaited, in this loop; until then it is not unhandled.
      finishing.catch(() => undefined);
      if (!(await before)) break;
    }
    await finishing;
  }

  /**
   * Stores a batch's readings, retrying as long as it takes; resolves with them
   * and the ones the store refused, or undefined when stopped first. The write
   * is sent before this returns.
   */
  async #writeReadings(records: readonly QueuedRecord[]): Promise<WrittenReadings | undefined> {
    const readings: Reading[] = [];
    for (const record of records) for (let i = 0; i < record.readings.length; i++) readings.push(record.readings[i]!);
    // A store names the readings it will not take (`refused`); a batch that fails as a whole
    // (an outage, or a refusal of the whole request such as bad credentials) is retried,
    // never turned into rejections: the fix is on the store's side and nothing is lost meanwhile.
    const written = await this.#retry('readings', async () => {
      if (readings.length === 0) return [];
      return (await this.#store.write(readings, encodedBatch(records))).refused;
    });
    return written && { readings, refusedAt: written.value };
  }

  /**
   * Finishes a batch whose readings are being written, once every batch before
   * it has finished: records its rejections, tells the listeners, commits its
   * queue position. False when stopped before it could.
   */
  async #finish(records: readonly QueuedRecord[], writing: Promise<WrittenReadings | undefined>): Promise<boolean> {
    const written = await writing;
    if (!written) return false;
    const { readings, refusedAt } = written;
    const rejections: Rejection[] = [];
    // Keyed by queue position, so a batch delivered again after a crash records each rejection once.
    for (const record of records) for (let i = 0; i < record.rejections.length; i++) rejections.push({ ...record.rejections[i]!, key: `${record.lsn}.${i}` });
    const refused = refusedAt.length === 0 ? [] : refusals(records, readings, refusedAt);
    rejections.push(...refused);
    if (rejections.length > 0 && !(await this.#retry('rejections', () => this.#rejections.writeRejections(rejections)))) return false;

    this.#state.stored += readings.length - refused.length;
    if (refused.length > 0) this.#o.onRefused?.(refused);
    if (rejections.length > 0) this.#o.onRejected?.(rejections);
    this.#state.refused += refused.length;
    if (this.#o.onStored && readings.length > refused.length) {
      const refusedIndices = new Set(refusedAt.map((r) => r.index));
      this.#o.onStored(refused.length === 0 ? readings : readings.filter((_, i) => !refusedIndices.has(i)));
    }
    await this.#queue.commit(records[records.length - 1]!.end);
    for (const wake of this.#committedWaiters.splice(0)) wake();
    return true;
  }

  /** Runs `attempt` until it succeeds (its value, boxed) or the drainer stops (undefined). Any throw is retried. */
  async #retry<T>(what: string, attempt: () => Promise<T>): Promise<{ value: T } | undefined> {
    for (let failures = 0; ; failures++) {
      try {
        const result = await attempt();
        if (failures > 0) this.#o.log.info({ what, attempts: failures + 1 }, 'store write recovered');
        this.#state.storeReachable = true;
        this.#state.consecutiveFailures = 0;
        return { value: result };
      } catch (err) {
        this.#state.storeReachable = false;
        this.#state.consecutiveFailures++;
        this.#state.lastError = (err as Error).message;
        const wait = retryDelay(failures + 1, err, this.#o.backoff ?? DEFAULT_BACKOFF);
        const fields = { what, err, attempt: failures + 1, retryInMs: Math.round(wait), backlogBytes: this.#queue.depthBytes };
        // Refused as a whole (credentials, permissions): not a passing outage, so an operator must act; nothing is lost meanwhile.
        if (err instanceof StoreWriteError && !err.retryable) this.#o.log.error(fields, 'the store refuses every write; check its credentials and permissions');
        else this.#o.log.warn(fields, 'store write failed; will retry');
        try {
          await sleep(wait, undefined, { signal: this.#abort.signal });
        } catch {
          return undefined;
        }
      }
    }
  }
}

/** The readings the store refused as rejections, each keyed by where it came from (queue position, index in its record). */
function refusals(records: readonly QueuedRecord[], readings: readonly Reading[], refusedAt: readonly { index: number; reason: string }[]): Rejection[] {
  const fromLsn: number[] = [];
  const fromIndex: number[] = [];
  for (const record of records) {
    for (let i = 0; i < record.readings.length; i++) {
      fromLsn.push(record.lsn);
      fromIndex.push(i);
    }
  }
  return refusedAt.map(({ index, reason }) => storeRefusal(readings[index]!, `${fromLsn[index]}.s${fromIndex[index]}`, reason));
}

function storeRefusal(reading: Reading, key: string, reason: string): Rejection {
  const payload = Buffer.from(JSON.stringify({ ...reading.values, time: isoTime(reading.time) }));
  return { ...rejectionOf(reading, payload, reading.time, 'TESTBED_READING_STORE_REFUSED', reason), key };
}

/**
 * The batch's records, their journal bytes each followed by a newline (see
 * reading-codec.js), in an ArrayBuffer of its own, so the embedded store can
 * hand it to its writer thread without a copy.
 */
function encodedBatch(records: readonly QueuedRecord[]): Buffer {
  let size = records.length;
  for (const { encoded } of records) size += encoded.length;
  const batch = Buffer.allocUnsafeSlow(size);
  let at = 0;
  for (let i = 0; i < records.length; i++) {
    at += records[i]!.encoded.copy(batch, at);
    batch[at++] = RECORD_SEPARATOR;
  }
  return batch;
}
