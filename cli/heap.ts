import v8 from 'node:v8';

/**
 * How far V8 lets the old generation grow past what the last full collection
 * kept before it collects again, in percent, while the gateway is not busy
 * with readings. V8's own choice (up to 4× for a heap that collects fast)
 * leaves the garbage of connecting in the heap for as long as the process
 * idles: 18,000 idle devices cost 14.1 KiB of RSS each with V8's choice,
 * 8.9–10.0 KiB at 20 %, 8.4 KiB at 30 %, 9.3 KiB at 50 %
 * (`npm run bench:connections`). The price is more full collections while
 * connections pile up: a connect storm costs about 0.2 ms more CPU per CONNECT.
 */
export const HEAP_GROWING_PERCENT = 30;

/**
 * The growth while readings flow at BUSY_READINGS_PER_SECOND or more: the
 * garbage of readings is made and dropped fast, and at 30 % the collector
 * marked the whole heap several times a second (QoS 1 at about 38,000
 * readings/s: 31 → 27 µs of CPU a reading, two alternating pairs).
 */
export const BUSY_HEAP_GROWING_PERCENT = 100;
export const BUSY_READINGS_PER_SECOND = 1000;
/** How long the rate stays below BUSY_READINGS_PER_SECOND before the heap is held at HEAP_GROWING_PERCENT again. */
export const CALM_AFTER_MS = 10_000;
const EVERY_MS = 1000;

/**
 * Which growth the heap should have, from the count of readings taken so far,
 * looked at about once a second: BUSY_HEAP_GROWING_PERCENT from the first
 * second at BUSY_READINGS_PER_SECOND, HEAP_GROWING_PERCENT again after
 * CALM_AFTER_MS below it.
 */
export class HeapGrowth {
  #percent = HEAP_GROWING_PERCENT;
  #last: { readings: number; at: number } | undefined;
  #busyUntil = 0;

  get percent(): number {
    return this.#percent;
  }

  /** The growth to set now, when it changes; undefined when it stays. */
  observe(readings: number, at: number): number | undefined {
    const last = this.#last;
    this.#last = { readings, at };
    if (!last || at <= last.at) return undefined;
    const perSecond = ((readings - last.readings) * 1000) / (at - last.at);
    if (perSecond >= BUSY_READINGS_PER_SECOND) this.#busyUntil = at + CALM_AFTER_MS;
    const percent = at < this.#busyUntil ? BUSY_HEAP_GROWING_PERCENT : HEAP_GROWING_PERCENT;
    if (percent === this.#percent) return undefined;
    this.#percent = percent;
    return percent;
  }
}

function setGrowth(percent: number): void {
  v8.setFlagsFromString(`--heap-growing-percent=${percent}`);
}

/** Sets the server's heap growth (see HEAP_GROWING_PERCENT); V8 reads it at each full collection, so setting it as the command starts suffices. */
export function sizeHeapForConnections(): void {
  setGrowth(HEAP_GROWING_PERCENT);
}

/** Follows the load with the heap's growth (see HeapGrowth); returns what stops it. */
export function followLoad(readings: () => number): () => void {
  const growth = new HeapGrowth();
  growth.observe(readings(), performance.now());
  const timer = setInterval(() => {
    const percent = growth.observe(readings(), performance.now());
    if (percent !== undefined) setGrowth(percent);
  }, EVERY_MS).unref();
  return () => {
    clearInterval(timer);
    setGrowth(HEAP_GROWING_PERCENT);
  };
}
