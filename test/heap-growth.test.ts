import { describe, expect, it } from 'vitest';
import { BUSY_HEAP_GROWING_PERCENT, BUSY_READINGS_PER_SECOND, CALM_AFTER_MS, HEAP_GROWING_PERCENT, HeapGrowth } from '../cli/heap.js';

describe('the heap growth follows the readings rate', () => {
  it('grows as V8 would while readings flow, and is held tight again once they have been calm a while', () => {
    const growth = new HeapGrowth();
    let readings = 0;
    let at = 0;
    /** One second more, with `rate` readings in it; answers the change. */
    const second = (rate: number) => {
      readings += rate;
      at += 1000;
      return growth.observe(readings, at);
    };
    expect(growth.observe(readings, at)).toBeUndefined();
    expect(growth.percent).toBe(HEAP_GROWING_PERCENT);
    expect(second(BUSY_READINGS_PER_SECOND - 1)).toBeUndefined();
    expect(second(BUSY_READINGS_PER_SECOND)).toBe(BUSY_HEAP_GROWING_PERCENT);
    expect(second(50_000)).toBeUndefined();
    // Below the rate for less than CALM_AFTER_MS: still busy, even across a short burst.
    for (let s = 1000; s < CALM_AFTER_MS; s += 1000) expect(second(10)).toBeUndefined();
    expect(growth.percent).toBe(BUSY_HEAP_GROWING_PERCENT);
    expect(second(10)).toBe(HEAP_GROWING_PERCENT);
    expect(second(0)).toBeUndefined();
    expect(growth.percent).toBe(HEAP_GROWING_PERCENT);
  });

  it('reads the rate over the time that passed, not per call', () => {
    const growth = new HeapGrowth();
    growth.observe(0, 0);
    // 1,500 readings in 2 s is 750/s: not busy; the same in 1 s is.
    expect(growth.observe(1500, 2000)).toBeUndefined();
    expect(growth.observe(3000, 3000)).toBe(BUSY_HEAP_GROWING_PERCENT);
    // A clock that did not move changes nothing.
    expect(growth.observe(9000, 3000)).toBeUndefined();
  });
});
