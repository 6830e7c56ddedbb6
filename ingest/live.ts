import { scopeAdmits, type Scope } from '../core/index.js';
import type { Reading } from '../store/index.js';

/**
 * What a subscriber wants: the readings its scope may see, of one pilot and
 * optionally one device. A scope is required, as for every read.
 */
export interface LiveFilter {
  readonly scope: Scope;
  readonly pilotId: string;
  readonly deviceId?: string | undefined;
}

/** What a subscriber takes: the readings queued since its last take, and how many it lost by falling behind. */
export interface LiveBatch {
  readonly readings: Reading[];
  readonly dropped: number;
}

export interface LiveSubscription {
  /** Empties the subscriber's buffer: readings oldest first, and the count dropped since the last take. */
  take(): LiveBatch;
  /** Stops the subscription; the buffer is released. */
  close(): void;
}

export interface LiveFeedOptions {
  /** Readings a subscriber may have waiting before the oldest are dropped; a subscription may ask for another size. */
  readonly bufferSize?: number;
}

/** The default per-subscriber buffer: a few seconds of a busy pilot. */
export const LIVE_BUFFER_SIZE = 1000;

/** A fixed-size queue that drops its oldest entry when full. */
class Ring<T> {
  readonly #items: (T | undefined)[];
  #start = 0;
  #count = 0;
  dropped = 0;

  constructor(size: number) {
    this.#items = new Array<T | undefined>(size);
  }

  push(item: T): void {
    const size = this.#items.length;
    if (this.#count === size) {
      this.#start = (this.#start + 1) % size;
      this.#count--;
      this.dropped++;
    }
    this.#items[(this.#start + this.#count) % size] = item;
    this.#count++;
  }

  drain(): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.#count; i++) {
      const at = (this.#start + i) % this.#items.length;
      out.push(this.#items[at] as T);
      this.#items[at] = undefined;
    }
    this.#start = 0;
    this.#count = 0;
    return out;
  }
}

interface Subscriber {
  readonly filter: LiveFilter;
  readonly ring: Ring<Reading>;
  readonly notify: () => void;
  signalled: boolean;
}

/**
 * The in-process feed of readings as they are stored: ingest publishes each
 * batch after the store took it, and live streams subscribe.
 *
 * Publishing never waits for a subscriber and never runs its code: each
 * subscriber has a bounded buffer, and a subscriber that does not take its
 * readings in time loses the oldest (drop-oldest), which its next `take` reports
 * as `dropped`. The subscriber is told there is something to take once per
 * burst, on a later turn of the event loop. So a slow consumer costs ingest one
 * array write per reading and never more memory than its buffer.
 */
export class LiveFeed {
  readonly #bufferSize: number;
  readonly #byPilot = new Map<string, Set<Subscriber>>();

  constructor(options: LiveFeedOptions = {}) {
    this.#bufferSize = Math.max(1, options.bufferSize ?? LIVE_BUFFER_SIZE);
  }

  /** How many subscriptions are open. */
  get subscribers(): number {
    let n = 0;
    for (const set of this.#byPilot.values()) n += set.size;
    return n;
  }

  /** Hands stored readings to the subscribers that may see them. Cheap, synchronous, never throws. */
  publish(readings: readonly Reading[]): void {
    if (this.#byPilot.size === 0) return;
    for (const reading of readings) {
      const subscribers = this.#byPilot.get(reading.pilotId);
      if (!subscribers) continue;
      for (const sub of subscribers) {
        const f = sub.filter;
        if ((f.deviceId !== undefined && f.deviceId !== reading.deviceId) || !scopeAdmits(f.scope, reading)) continue;
        sub.ring.push(reading);
        if (!sub.signalled) {
          sub.signalled = true;
          setImmediate(sub.notify);
        }
      }
    }
  }

  /** Subscribes to the readings `filter` admits; `onReadings` is called (later, once per burst) when there are some to take. */
  subscribe(filter: LiveFilter, onReadings: () => void, options: LiveFeedOptions = {}): LiveSubscription {
    let open = true;
    const sub: Subscriber = {
      filter,
      ring: new Ring<Reading>(Math.max(1, options.bufferSize ?? this.#bufferSize)),
      signalled: false,
      notify: () => {
        sub.signalled = false;
        if (open) onReadings();
      },
    };
    let set = this.#byPilot.get(filter.pilotId);
    if (!set) this.#byPilot.set(filter.pilotId, (set = new Set()));
    set.add(sub);
    return {
      take: () => {
        const dropped = sub.ring.dropped;
        sub.ring.dropped = 0;
        return { readings: sub.ring.drain(), dropped };
      },
      close: () => {
        if (!open) return;
        open = false;
        sub.ring.drain();
        set.delete(sub);
        if (set.size === 0 && this.#byPilot.get(filter.pilotId) === set) this.#byPilot.delete(filter.pilotId);
      },
    };
  }
}
