import path from 'node:path';
import type { Logger } from '../core/index.js';
import type { Reading, Rejection } from '../store/index.js';
import { Checkpoint } from './checkpoint.js';
import { Journal } from './journal.js';
import { segmentsHolding } from './segments.js';
import type { MessageOutcome } from './pipeline.js';
import { decodeRecord, encodeRecord, type MessageKey } from '../store/index.js';

export type { MessageKey } from '../store/index.js';

/** One message's outcome as it sits in the queue. */
export interface QueuedRecord {
  readonly lsn: number;
  readonly end: number;
  /** Epoch ms the message was received. */
  readonly at: number;
  readonly readings: readonly Reading[];
  readonly rejections: readonly Rejection[];
  /** The record as written to the journal (see reading-codec.js), handed to the store as it is. */
  readonly encoded: Buffer;
}

export interface QueueOptions {
  /** Undelivered bytes at most; past it the queue is full and the gateway stops acknowledging. */
  readonly maxBytes: number;
  readonly segmentBytes: number;
  /** Undelivered records kept decoded in memory at most, in body bytes; the rest is read back from disk. */
  readonly memoryBytes: number;
}

/** What an unreadable record is delivered as: nothing. */
const EMPTY_RECORD = Buffer.from('{"a":0}');

/** Segments kept after delivery, for rebuilding duplicate detection after a restart. */
const KEEP_SEGMENTS = 2;
/** How much one read from disk takes. */
const DISK_READ_BYTES = 4 * 1024 * 1024;
/**
 * A partial batch stops waiting for more once nothing has been appended for
 * this long and all of it is on disk: the readings have paused (a burst
 * ended), and waiting out the rest of the linger would only delay them.
 */
const INPUT_PAUSE_MS = 10;

/**
 * The durable queue between validation and storage. A message's outcome is
 * appended to the journal (on disk) before it is acknowledged, delivered
 * oldest first to the store writer, and committed once stored; the committed
 * position is kept in `checkpoint.json` (see Checkpoint), so after a crash
 * delivery resumes there. Records still in memory are delivered from memory; once the backlog
 * outgrows `memoryBytes`, they are read back from disk, so memory stays bounded
 * whatever the backlog.
 */
export class DurableQueue {
  readonly #journal: Journal;
  readonly #options: QueueOptions;
  readonly #checkpoint: Checkpoint;
  readonly #log: Logger;
  /** LSN up to which everything is stored. */
  #committed: number;
  /** LSN of the next record to deliver. */
  #next: number;
  /** Decoded records from `#memory[#memHead]` on, contiguous, starting at or after `#next`. */
  #memory: QueuedRecord[] = [];
  #memHead = 0;
  #memBytes = 0;
  /** True while new records go to disk only (the in-memory tail is full or behind). */
  #spilled: boolean;
  #roomWaiters: (() => void)[] = [];
  /** Who waits for the next commit (`releaseDelivered`). */
  #commitWaiters: (() => void)[] = [];
  readonly #dir: string;
  #wake: (() => void) | undefined;
  /** Each batch handed out and not yet committed: where it ends and when its first record was received, oldest first. */
  #handedOut: { readonly end: number; readonly at: number }[] = [];
  #closed = false;

  private constructor(journal: Journal, options: QueueOptions, dir: string, checkpoint: Checkpoint, log: Logger) {
    this.#journal = journal;
    this.#dir = dir;
    this.#options = options;
    this.#checkpoint = checkpoint;
    this.#committed = Math.max(checkpoint.lsn, journal.tail);
    this.#next = this.#committed;
    this.#spilled = this.#next < journal.head;
    this.#log = log;
    journal.onDurable = () => this.#notify();
  }

  static async open(dir: string, options: QueueOptions, log: Logger): Promise<DurableQueue> {
    const { journal, truncatedBytes } = await Journal.open(dir, { segmentBytes: options.segmentBytes });
    if (truncatedBytes > 0) log.warn({ truncatedBytes }, 'cut a torn, unacknowledged record off the end of the queue');
    const checkpoint = await Checkpoint.open(path.join(dir, 'checkpoint.json'), log);
    const queue = new DurableQueue(journal, options, dir, checkpoint, log);
    if (queue.depthBytes > 0) log.info({ backlogBytes: queue.depthBytes }, 'resuming delivery of queued readings');
    return queue;
  }

  /** Undelivered bytes. */
  get depthBytes(): number {
    return this.#journal.head - this.#committed;
  }

  get full(): boolean {
    return this.depthBytes >= this.#options.maxBytes;
  }

  /** The error that stopped the journal, if one did; nothing can be acknowledged after it. */
  get failed(): Error | undefined {
    return this.#journal.failed;
  }

  /** Age in ms of the oldest undelivered record, when one is known. */
  oldestAgeMs(now: number): number | undefined {
    const at = this.#handedOut[0]?.at ?? this.#memory[this.#memHead]?.at;
    return this.depthBytes > 0 && at !== undefined ? Math.max(0, now - at) : undefined;
  }

  /** Calls `callback` once the queue has room (at once when it has). */
  whenRoom(callback: () => void): void {
    if (!this.full) callback();
    else this.#roomWaiters.push(callback);
  }

  /**
   * Appends a message's outcome. `onDurable` is called once it is on disk.
   * Returns the journal position after it.
   */
  enqueue(at: number, outcome: MessageOutcome, key: MessageKey | undefined, onDurable?: (error: Error | null) => void): number {
    // Caught up with everything appended: new records can be delivered from memory again.
    if (this.#spilled && this.#next === this.#journal.head && this.#memHead === this.#memory.length) this.#spilled = false;
    const encoded = encodeRecord(at, outcome.readings, outcome.rejections, key);
    const { lsn, end } = this.#journal.append(encoded, onDurable);
    const size = end - lsn - 8;
    if (!this.#spilled && this.#memBytes + size <= this.#options.memoryBytes) {
      this.#memory.push({ lsn, end, at, readings: outcome.readings, rejections: outcome.rejections, encoded });
      this.#memBytes += size;
    } else {
      this.#spilled = true;
    }
    return end;
  }

  /** Calls `done` once everything before `end` is on disk. */
  whenDurable(end: number, done: (error: Error | null) => void): void {
    this.#journal.whenDurable(end, done);
  }

  /**
   * The next records to store, oldest first: at least one, with up to
   * `maxReadings` readings. Waits for a first record, then up to `lingerMs`
   * for a full batch while readings keep coming (see INPUT_PAUSE_MS).
   * Resolves empty when the queue is closed.
   */
  async take(maxReadings: number, lingerMs: number): Promise<QueuedRecord[]> {
    while (!this.#closed && this.#next >= this.#journal.durable) await this.#sleep(undefined);
    if (this.#closed) return [];
    const front = this.#memory[this.#memHead];
    if (front && front.lsn === this.#next) {
      const deadline = Date.now() + lingerMs;
      let head = this.#journal.head;
      let appendedAt = Date.now();
      while (!this.#closed && this.#durableMemoryReadings(maxReadings) < maxReadings && Date.now() < deadline) {
        await this.#sleep(Math.min(deadline - Date.now(), INPUT_PAUSE_MS));
        const now = Date.now();
        if (this.#journal.head !== head) {
          head = this.#journal.head;
          appendedAt = now;
        } else if (now - appendedAt >= INPUT_PAUSE_MS && this.#journal.durable === head) break;
      }
      return this.#takeFromMemory(maxReadings);
    }
    return this.#takeFromDisk(maxReadings, front?.lsn);
  }

  /** Marks everything before `end` as stored: saves the checkpoint, frees space and old segments. */
  async commit(end: number): Promise<void> {
    this.#committed = end;
    while (this.#handedOut.length > 0 && this.#handedOut[0]!.end <= end) this.#handedOut.shift();
    this.#checkpoint.save(end);
    await this.#journal.release(end, KEEP_SEGMENTS);
    while (this.#roomWaiters.length > 0 && !this.full) this.#roomWaiters.shift()!();
    for (const wake of this.#commitWaiters.splice(0)) wake();
  }

  /**
   * Deletes from disk every record appended so far, once delivered: the
   * journal moves to a new segment, this waits until everything before it is
   * committed (undelivered records are delivered first, never dropped), then
   * deletes every older segment, the history kept for duplicate detection
   * after a restart included, and drops delivered records still referenced in
   * memory. Erasure calls it so that no byte of an erased pilot stays here.
   */
  async releaseDelivered(): Promise<void> {
    const start = await this.#journal.roll();
    while (!this.#closed && this.#committed < start) await new Promise<void>((resolve) => this.#commitWaiters.push(resolve));
    if (this.#closed) throw new Error('the queue closed before its delivered segments were released');
    this.#memory = this.#memory.slice(this.#memHead);
    this.#memHead = 0;
    await this.#journal.release(start, 1);
  }

  /** How many segment files hold `text` (as UTF-8 bytes), read raw from disk: erasure's check. */
  segmentsHolding(text: string): Promise<number> {
    return segmentsHolding(this.#dir, text);
  }

  /** Reads the keys of the recent records (the kept segments), oldest first, for duplicate detection. */
  async recentKeys(onKey: (key: MessageKey, at: number, end: number) => void): Promise<void> {
    let at = this.#journal.segmentStart(KEEP_SEGMENTS + 1);
    while (at < this.#journal.durable) {
      const records = await this.#journal.read(at, DISK_READ_BYTES);
      if (records.length === 0) break;
      for (const r of records) {
        const record = decodeRecord(r.body.toString('utf8'));
        if (record?.key) onKey(record.key, record.at, r.end);
      }
      at = records[records.length - 1]!.end;
    }
  }

  /** Resolves once everything appended is on disk. */
  flush(): Promise<void> {
    return this.#journal.flush();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#notify();
    for (const wake of this.#commitWaiters.splice(0)) wake();
    await this.#checkpoint.flush().catch((err: unknown) => this.#log.warn({ err }, 'could not save the queue checkpoint'));
    await this.#journal.close();
  }

  #durableMemoryReadings(cap: number): number {
    let n = 0;
    const durable = this.#journal.durable;
    for (let i = this.#memHead; i < this.#memory.length && n < cap; i++) {
      const r = this.#memory[i]!;
      if (r.end > durable) break;
      n += Math.max(1, r.readings.length);
    }
    return n;
  }

  #takeFromMemory(maxReadings: number): QueuedRecord[] {
    const out: QueuedRecord[] = [];
    const durable = this.#journal.durable;
    let n = 0;
    while (this.#memHead < this.#memory.length && n < maxReadings) {
      const r = this.#memory[this.#memHead]!;
      if (r.end > durable) break;
      out.push(r);
      n += Math.max(1, r.readings.length);
      this.#memHead++;
      this.#memBytes -= r.end - r.lsn - 8;
    }
    if (this.#memHead > 1024 && this.#memHead * 2 > this.#memory.length) {
      this.#memory = this.#memory.slice(this.#memHead);
      this.#memHead = 0;
    }
    this.#handOut(out);
    return out;
  }

  async #takeFromDisk(maxReadings: number, until: number | undefined): Promise<QueuedRecord[]> {
    const out: QueuedRecord[] = [];
    let n = 0;
    for (const r of await this.#journal.read(this.#next, DISK_READ_BYTES)) {
      if ((until !== undefined && r.lsn >= until) || n >= maxReadings) break;
      const record = decodeRecord(r.body.toString('utf8'));
      if (!record) this.#log.error({ lsn: r.lsn }, 'skipped an unreadable queue record');
      out.push({
        lsn: r.lsn,
        end: r.end,
        at: record?.at ?? Date.now(),
        readings: record?.readings ?? [],
        rejections: record?.rejections ?? [],
        encoded: record ? r.body : EMPTY_RECORD,
      });
      n += Math.max(1, record?.readings.length ?? 0);
    }
    this.#handOut(out);
    return out;
  }

  #handOut(records: QueuedRecord[]): void {
    const last = records[records.length - 1];
    if (!last) return;
    this.#handedOut.push({ end: last.end, at: records[0]!.at });
    this.#next = last.end;
  }

  #sleep(ms: number | undefined): Promise<void> {
    return new Promise((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(() => resolve(), ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
