import fs from 'node:fs';

/** How often the free space of the data folder is read. */
const CHECK_MS = 1000;

/** The free space of the data folder, as `GET /v1/health` shows it. */
export interface DiskState {
  readonly freeBytes: number | null;
  readonly minFreeBytes: number;
  /** True while free space is below `minFreeBytes`: nothing more is accepted. */
  readonly low: boolean;
}

/**
 * Watches the free space of the folder the queue writes to. Below
 * `minFreeBytes` (`TESTBED_DISK_MIN_FREE_MB`) ingest stops accepting, so that
 * nothing is acknowledged that the disk might not hold; once space returns it
 * accepts again by itself. Read every second (statfs is a cheap system call)
 * and on demand.
 */
export class DiskWatch {
  readonly #dir: string;
  readonly #minFreeBytes: number;
  readonly #timer: NodeJS.Timeout;
  #free: number | null = null;
  #onChange: (low: boolean) => void;

  constructor(dir: string, minFreeBytes: number, onChange: (low: boolean) => void = () => {}) {
    this.#dir = dir;
    this.#minFreeBytes = minFreeBytes;
    this.#onChange = onChange;
    this.check();
    this.#timer = setInterval(() => this.check(), CHECK_MS).unref();
  }

  get low(): boolean {
    return this.#free !== null && this.#free < this.#minFreeBytes;
  }

  get state(): DiskState {
    return { freeBytes: this.#free, minFreeBytes: this.#minFreeBytes, low: this.low };
  }

  /** Reads the free space now. A folder that cannot be read keeps the last value. */
  check(): void {
    const was = this.low;
    try {
      const s = fs.statfsSync(this.#dir);
      // bavail: what an unprivileged process may still use (root's reserve excluded).
      this.#free = s.bavail * s.bsize;
    } catch {
      return;
    }
    if (this.low !== was) this.#onChange(this.low);
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
