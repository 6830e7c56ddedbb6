import { describe, expect, it } from 'vitest';
import { windowFor } from '../console/src/windows.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe('console chart windows', () => {
  it('keeps a chart within about a point per pixel, whatever the range', () => {
    for (const range of [60_000, HOUR, DAY, 7 * DAY, 30 * DAY, 365 * DAY, 5 * 365 * DAY]) {
      for (const width of [320, 1000, 4000]) {
        const { ms } = windowFor(range, width);
        expect(range / ms).toBeLessThanOrEqual(Math.min(2000, Math.max(50, width)));
      }
    }
  });

  it('asks for shorter windows as the range narrows (zooming in)', () => {
    expect(windowFor(30 * DAY, 1000).every).toBe('1h');
    expect(windowFor(DAY, 1000).every).toBe('5m');
    expect(windowFor(HOUR, 1000).every).toBe('5s');
    expect(windowFor(60_000, 1000).every).toBe('1s');
    expect(windowFor(20 * 365 * DAY, 1000).every).toBe('8d');
  });
});
