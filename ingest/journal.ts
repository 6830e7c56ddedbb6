import fsp from 'node:fs/promises';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { HEADER, SEGMENT_NAME, segmentFile, syncDir, validLength } from './segments.js';

/**
 * An append-only log on local disk, in segment files. A position in the log is
 * its LSN: the number of bytes ever appended before it, so the backlog between
 * two positions is a subtraction. Each segment file is named by the LSN of its
 * first byte.
 *
 * Frames are `[u32 length][u32 crc32(body)][body]`, little-endian. Appends are
 * group-committed: everything appended while one write+fdatasync is in flight
 * goes to disk in the next single write+fdatasync, so a thousand devices
 * publishing at once cost one sync, not a thousand. All disk work is
 * asynchronous (libuv's thread pool), never on the event loop.
 */

export interface JournalRecord {
  /** LSN of the frame's first byte. */
  readonly lsn: number;
  /** LSN just past the frame. */
  readonly end: number;
  readonly body: Buffer;
}

interface Segment {
  readonly start: number;
  size: number;
}

type Durable = (error: Error | null) => void;

export interface JournalOptions {
  /** A new segment is started once the current one is this large. */
  readonly segmentBytes: number;
}

/** What the buffer of appended frames starts at; it grows for a larger round. */
const PENDING_BYTES = 64 * 1024;
/** A buffer grown past this for a burst is not kept for reuse. */
const SPARE_MAX_BYTES = 4 * 1024 * 1024;

export class Journal {
  readonly #dir: string;
  readonly #options: JournalOptions;
  readonly #segments: Segment[];
  #fd: fsp.FileHandle;
  /** LSN just past the last appended frame (durable or not). */
  #head: number;
  /** LSN just past the last frame known to be on disk. */
  #durable: number;
  /** Frames appended since the last write began, back to back: a round writes them as they lie. */
  #pending: Buffer = Buffer.allocUnsafeSlow(PENDING_BYTES);
  #pendingBytes = 0;
  /** The buffer the last round wrote, kept for the next round's appends (frames are never referenced after their write). */
  #spare: Buffer | undefined;
  /** Who waits for a position to be on disk, in the order they asked. */
  #waiters: { end: number; done: Durable }[] = [];
  #writing: Promise<void> | undefined;
  #failed: Error | undefined;
  /** Called after each write+sync round, for whoever waits on new durable frames. */
  onDurable: (() => void) | undefined;

  private constructor(dir: string, options: JournalOptions, segments: Segment[], fd: fsp.FileHandle) {
    this.#dir = dir;
    this.#options = options;
    this.#segments = segments;
    this.#fd = fd;
    const last = segments[segments.length - 1]!;
    this.#head = last.start + last.size;
    this.#durable = this.#head;
  }

  /**
   * Opens the journal in `dir`, creating it when new. A frame torn by a crash
   * mid-write (bad length or checksum at the tail of the last segment) is cut
   * off: it was never acknowledged, since acknowledgement waits for the sync.
   */
  static async open(dir: string, options: JournalOptions): Promise<{ journal: Journal; truncatedBytes: number }> {
    await fsp.mkdir(dir, { recursive: true });
    const names = (await fsp.readdir(dir)).filter((n) => SEGMENT_NAME.test(n)).sort();
    const segments: Segment[] = [];
    for (const name of names) {
      const start = Number.parseInt(SEGMENT_NAME.exec(name)![1]!, 16);
      segments.push({ start, size: (await fsp.stat(path.join(dir, name))).size });
    }
    let truncatedBytes = 0;
    if (segments.length === 0) {
      segments.push({ start: 0, size: 0 });
      await (await fsp.open(segmentFile(dir, 0), 'a')).close();
      await syncDir(dir);
    } else {
      const last = segments[segments.length - 1]!;
      const valid = await validLength(segmentFile(dir, last.start));
      if (valid < last.size) {
        truncatedBytes = last.size - valid;
        await fsp.truncate(segmentFile(dir, last.start), valid);
        last.size = valid;
      }
    }
    const last = segments[segments.length - 1]!;
    const fd = await fsp.open(segmentFile(dir, last.start), 'a');
    return { journal: new Journal(dir, options, segments, fd), truncatedBytes };
  }

  /** LSN of the oldest byte still on disk. */
  get tail(): number {
    return this.#segments[0]!.start;
  }

  /** LSN of the first byte of the `n`-th newest segment (1: the one being written). */
  segmentStart(n: number): number {
    return this.#segments[Math.max(0, this.#segments.length - n)]!.start;
  }

  /** Whether a write to disk has failed; nothing more is accepted after one. */
  get failed(): Error | undefined {
    return this.#failed;
  }

  /** LSN just past the last appended frame. */
  get head(): number {
    return this.#head;
  }

  /** LSN just past the last frame that is on disk. */
  get durable(): number {
    return this.#durable;
  }

  /**
   * Appends one frame and returns its LSN range. `onDurable` is called once
   * the frame (and everything before it) is on disk, or with the error that
   * kept it from getting there.
   */
  append(body: Buffer, onDurable?: Durable): { lsn: number; end: number } {
    const length = body.length;
    const at = this.#reserve(HEADER + length);
    // Copied among the round's other frames: one buffer for the round, no copy at write time.
    const pending = this.#pending;
    body.copy(pending, at + HEADER);
    pending.writeUInt32LE(length, at);
    pending.writeUInt32LE(crc32(body), at + 4);
    const lsn = this.#head;
    this.#head += HEADER + length;
    if (onDurable) this.#waiters.push({ end: this.#head, done: onDurable });
    if (!this.#writing) this.#writing = this.#commitRounds();
    return { lsn, end: this.#head };
  }

  /** Room for `bytes` more in the pending frames; returns where they go. */
  #reserve(bytes: number): number {
    const at = this.#pendingBytes;
    if (at + bytes > this.#pending.length) {
      const grown = Buffer.allocUnsafeSlow(Math.max(at + bytes, this.#pending.length * 2));
      this.#pending.copy(grown, 0, 0, at);
      this.#pending = grown;
    }
    this.#pendingBytes = at + bytes;
    return at;
  }

  /** Calls `done` once everything before `end` is on disk. */
  whenDurable(end: number, done: Durable): void {
    if (this.#failed) done(this.#failed);
    else if (end <= this.#durable) done(null);
    else this.#waiters.push({ end, done });
  }

  /** Resolves once everything appended so far is on disk. */
  async flush(): Promise<void> {
    while (this.#writing) await this.#writing;
    if (this.#failed) throw this.#failed;
  }

  /** Write+sync rounds until nothing is pending. */
  async #commitRounds(): Promise<void> {
    try {
      while (this.#pendingBytes > 0) {
        const frames = this.#pending;
        const bytes = this.#pendingBytes;
        this.#pending = this.#spare ?? Buffer.allocUnsafeSlow(PENDING_BYTES);
        this.#spare = undefined;
        this.#pendingBytes = 0;
        try {
          if (this.#failed) throw this.#failed;
          await this.#rollIfFull();
          await this.#fd.write(frames, 0, bytes);
          await this.#fd.datasync();
          this.#segments[this.#segments.length - 1]!.size += bytes;
          this.#durable += bytes;
        } catch (err) {
          // A failed write leaves the file in an unknown state; refuse everything after it.
          this.#failed ??= err instanceof Error ? err : new Error(String(err));
        }
        if (frames.length <= SPARE_MAX_BYTES) this.#spare = frames;
        const waiting = this.#waiters;
        this.#waiters = [];
        for (const w of waiting) this.whenDurable(w.end, w.done);
        this.onDurable?.();
      }
    } finally {
      this.#writing = undefined;
    }
  }

  /**
   * Closes the segment being written, when it holds anything, and starts a new
   * one; returns the LSN where the new segment starts. Everything before it is
   * then in segments that `release` can delete once delivered (erasure uses it
   * so that nothing a device sent stays on disk). Appends made meanwhile wait
   * and go to the new segment.
   */
  async roll(): Promise<number> {
    while (this.#writing) await this.#writing;
    if (this.#failed) throw this.#failed;
    // Nothing is being written now, and the assignment below is synchronous: appends queue up behind the roll.
    const rolling = this.#roll(0);
    // A failed roll leaves the current segment in use: appends go on, only the caller hears of it.
    this.#writing = rolling
      .catch(() => undefined)
      .finally(() => {
        this.#writing = undefined;
        if (this.#pendingBytes > 0) this.#writing = this.#commitRounds();
      });
    await rolling;
    return this.#segments[this.#segments.length - 1]!.start;
  }

  async #rollIfFull(): Promise<void> {
    await this.#roll(this.#options.segmentBytes);
  }

  /** Starts a new segment once the current one holds at least `atLeast` bytes (and anything at all). */
  async #roll(atLeast: number): Promise<void> {
    const current = this.#segments[this.#segments.length - 1]!;
    if (current.size < Math.max(1, atLeast)) return;
    const start = current.start + current.size;
    const fd = await fsp.open(segmentFile(this.#dir, start), 'a');
    await syncDir(this.#dir);
    await this.#fd.close();
    this.#fd = fd;
    this.#segments.push({ start, size: 0 });
  }

  /**
   * Reads whole durable frames from `lsn` on, up to about `maxBytes` (at least
   * one frame when there is one). `lsn` must be a frame boundary.
   */
  async read(lsn: number, maxBytes: number): Promise<JournalRecord[]> {
    const records: JournalRecord[] = [];
    let at = Math.max(lsn, this.tail);
    let budget = maxBytes;
    while (at < this.#durable && budget > 0) {
      const segment = this.#segmentOf(at);
      if (!segment) break;
      const segmentEnd = Math.min(segment.start + segment.size, this.#durable);
      const length = Math.min(segmentEnd - at, Math.max(budget, HEADER));
      const buffer = Buffer.allocUnsafe(length);
      const handle = await fsp.open(segmentFile(this.#dir, segment.start), 'r');
      let got: number;
      try {
        ({ bytesRead: got } = await handle.read(buffer, 0, length, at - segment.start));
      } finally {
        await handle.close();
      }
      let offset = 0;
      while (offset + HEADER <= got) {
        const size = buffer.readUInt32LE(offset);
        if (offset + HEADER + size > got) {
          // The frame continues past what was read: read it whole next time, unless it is the first.
          if (offset > 0) break;
          const whole = Buffer.allocUnsafe(HEADER + size);
          const again = await fsp.open(segmentFile(this.#dir, segment.start), 'r');
          try {
            await again.read(whole, 0, whole.length, at - segment.start);
          } finally {
            await again.close();
          }
          records.push({ lsn: at, end: at + whole.length, body: whole.subarray(HEADER) });
          offset = whole.length;
          break;
        }
        const body = buffer.subarray(offset + HEADER, offset + HEADER + size);
        records.push({ lsn: at + offset, end: at + offset + HEADER + size, body });
        offset += HEADER + size;
      }
      if (offset === 0) break;
      at += offset;
      budget -= offset;
    }
    return records;
  }

  #segmentOf(lsn: number): Segment | undefined {
    for (let i = this.#segments.length - 1; i >= 0; i--) {
      const s = this.#segments[i]!;
      if (s.start <= lsn) return lsn < s.start + s.size || i === this.#segments.length - 1 ? s : undefined;
    }
    return undefined;
  }

  /**
   * Deletes segments that end at or before `lsn`, keeping the newest `keep`
   * segments whatever their state (they hold the recent history that duplicate
   * detection is rebuilt from after a restart).
   */
  async release(lsn: number, keep: number): Promise<void> {
    while (this.#segments.length > Math.max(1, keep)) {
      const oldest = this.#segments[0]!;
      if (oldest.start + oldest.size > lsn) return;
      this.#segments.shift();
      await fsp.rm(segmentFile(this.#dir, oldest.start), { force: true });
    }
  }

  async close(): Promise<void> {
    await this.flush().catch(() => undefined);
    await this.#fd.close();
  }
}
