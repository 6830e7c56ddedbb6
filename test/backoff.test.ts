import { HttpError } from '@influxdata/influxdb-client';
import { describe, expect, it } from 'vitest';
import { retryDelay } from '../ingest/backoff.js';
import { classifyWriteError } from '../store/influx/write-errors.js';
import { StoreWriteError } from '../store/types.js';

const policy = { minMs: 100, maxMs: 30_000 };
/** The error a failed InfluxDB write of this status turns into, as the store classifies it. */
const refusal = (status: number, headers: Record<string, string> = {}) => {
  const failure = classifyWriteError(new HttpError(status, 'refused', '{"error":"refused"}', headers['retry-after'], 'application/json', undefined, headers));
  if (failure.kind !== 'batch') throw new Error(`status ${status} is about lines, not the batch`);
  return failure.error;
};

describe('retryDelay', () => {
  it('backs off exponentially with jitter for a failure that may pass by itself', () => {
    for (let i = 0; i < 200; i++) {
      expect(retryDelay(1, refusal(503), policy)).toBeLessThanOrEqual(200);
      expect(retryDelay(3, new Error('connection refused'), policy)).toBeLessThanOrEqual(800);
    }
    expect(retryDelay(1, refusal(429, { 'retry-after': '7' }), policy)).toBeGreaterThanOrEqual(7000);
  });

  it('waits the longest step at once when the store refuses the batch as a whole (retryable: false)', () => {
    expect(refusal(401).retryable).toBe(false);
    expect(retryDelay(1, refusal(401), policy)).toBe(30_000);
    expect(retryDelay(1, refusal(403), policy)).toBe(30_000);
    expect(retryDelay(1, new StoreWriteError('the embedded store is closed', false), policy)).toBe(30_000);
  });
});
