import fsp from 'node:fs/promises';
import type { Logger } from '../core/index.js';

/** How often, at most, the committed position is written. */
const SAVE_EVERY_MS = 200;

/**
 * The queue's committed position in `checkpoint.json`: where delivery resumes
 * after a crash. It is written at most every 200 ms (and at close), not per
 * batch: writing a file per batch costs an open, a write, a close and a
 * rename, several times the work of the batch's own bookkeeping. A crash
 * therefore delivers up to 200 ms of batches again, which the stores take
 * as the same readings (a reading is its device and time; rejections are
 * keyed by queue position), so nothing is stored twice.
 */
export class Checkpoint {
  readonly #file: string;
  readonly #log: Logger;
  #saved = 0;
  #wanted = 0;
  #savedAt = 0;
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> | undefined;

  private constructor(file: string, log: Logger, lsn: number) {
    this.#file = file;
    this.#log = log;
    this.#saved = lsn;
    this.#wanted = lsn;
  }

  /** Reads the position kept in `file`; 0 when there is none (or it is unreadable, said in the log). */
  static async open(file: string, log: Logger): Promise<Checkpoint> {
    let lsn = 0;
    try {
      lsn = (JSON.parse(await fsp.readFile(file, 'utf8')) as { lsn: number }).lsn;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log.warn({ err }, 'unreadable queue checkpoint; delivering from the oldest record kept');
    }
    return new Checkpoint(file, log, lsn);
  }

  /** The position read at open. */
  get lsn(): number {
    return this.#saved;
  }

  /** Records `lsn` as committed: written now when the last write is old enough, else within 200 ms. */
  save(lsn: number): void {
    this.#wanted = lsn;
    if (this.#timer || this.#writing) return;
    const wait = this.#savedAt + SAVE_EVERY_MS - Date.now();
    if (wait <= 0) this.#write();
    else this.#timer = setTimeout(() => this.#write(), wait).unref();
  }

  /** Writes the newest position now (at close). */
  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#writing) await this.#writing;
    if (this.#wanted !== this.#saved) await this.#writeNow();
  }

  #write(): void {
    this.#timer = undefined;
    this.#writing = this.#writeNow()
      .catch((err: unknown) => this.#log.warn({ err }, 'could not save the queue checkpoint; will try again'))
      .finally(() => {
        this.#writing = undefined;
        if (this.#wanted !== this.#saved) this.save(this.#wanted);
      });
  }

  async #writeNow(): Promise<void> {
    const lsn = this.#wanted;
    this.#savedAt = Date.now();
    const tmp = `${this.#file}.tmp`;
    await fsp.writeFile(tmp, JSON.stringify({ lsn }));
    await fsp.rename(tmp, this.#file);
    this.#saved = lsn;
  }
}
