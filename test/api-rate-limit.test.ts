import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RateLimiter } from '../api/rate-limit.js';
import { ADMIN, bearer, openTestApi, type TestApi } from './helpers/api.js';
import { SETUP_CALLER as SETUP } from '../registry/index.js';

describe('RateLimiter (pure)', () => {
  it('allows a burst, then the sustained rate, per key', () => {
    let now = 0;
    const limiter = new RateLimiter({ perSecond: 2, burst: 3 }, () => now);
    expect([limiter.take('a'), limiter.take('a'), limiter.take('a')]).toEqual([0, 0, 0]);
    expect(limiter.take('a')).toBe(1);
    expect(limiter.take('b')).toBe(0);
    now += 500;
    expect(limiter.take('a')).toBe(0);
    expect(limiter.take('a')).toBe(1);
    now += 10_000;
    expect([limiter.take('a'), limiter.take('a'), limiter.take('a'), limiter.take('a')]).toEqual([0, 0, 0, 1]);
  });
});

describe('per-key rate limits in the API', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await openTestApi({ rateLimit: { perSecond: 0.5, burst: 3 } });
  });
  afterAll(async () => api?.close());

  it('answers 429 TESTBED_RATE_LIMITED with Retry-After past the burst, for that key only', async () => {
    const other = api.registry.createCompanyKey(SETUP, api.registry.createCompany(SETUP.scope, 'Other Oy').id).key;
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await api.app.inject({ url: '/v1/testbeds', headers: bearer(ADMIN) })).statusCode);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const limited = await api.app.inject({ url: '/v1/pilots', headers: bearer(ADMIN) });
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBe('2');
    expect(limited.json()).toEqual({
      error: { code: 'TESTBED_RATE_LIMITED', message: expect.stringContaining('retry in 2 s'), details: { retryAfterSeconds: 2 } },
    });
    expect((await api.app.inject({ url: '/v1/testbeds', headers: bearer(other) })).statusCode).toBe(200);
    expect((await api.app.inject({ url: '/v1/health' })).statusCode).toBe(200);
  });
});
