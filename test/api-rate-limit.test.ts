import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { buildApp } from '../api/app.js';
import type { ApiInstance } from '../api/deps.js';
import { clientBucket, RateLimiter } from '../api/rate-limit.js';
import { loadProfiles } from '../device-profiles/index.js';
import { ADMIN, bearer, MQTT_URL, openTestApi, type TestApi } from './helpers/api.js';
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
    const other = (await api.registry.createCompanyKey(SETUP, (await api.registry.createCompany(SETUP.scope, 'Other Oy')).id)).key;
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

describe('requests without a key: limited per client address', () => {
  it('counts IPv4 as itself, IPv4 mapped into IPv6 as IPv4, and IPv6 by its /64', () => {
    expect(clientBucket('198.51.100.7')).toBe('198.51.100.7');
    expect(clientBucket('::ffff:198.51.100.7')).toBe('198.51.100.7');
    expect(clientBucket('2001:db8:1:2::5')).toBe('2001:db8:1:2::/64');
    expect(clientBucket('2001:0DB8:0001:0002:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:1:2::/64');
    expect(clientBucket('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientBucket('::1')).toBe('0:0:0:0::/64');
  });

  let api: TestApi;
  let proxied: ApiInstance;
  beforeAll(async () => {
    const once = { perSecond: 0.001, burst: 1 };
    api = await openTestApi({ anonymousRateLimit: once });
    // The same deps behind a trusted reverse proxy at 10.0.0.1 (TESTBED_TRUSTED_PROXIES).
    proxied = await buildApp(
      {
        registry: api.registry,
        mqttUrl: MQTT_URL,
        readings: api.store,
        rejections: api.store,
        profiles: loadProfiles(),
        log: pino({ level: 'silent' }),
        rateLimit: { perSecond: 1e6, burst: 1e6 },
        anonymousRateLimit: once,
      },
      { trustedProxies: ['10.0.0.1'] },
    );
  });
  afterAll(async () => {
    await proxied?.close();
    await api?.close();
  });
  const open = (app: ApiInstance, remoteAddress: string, forwardedFor?: string) =>
    app.inject({ url: '/v1/pilots?sharing=open', remoteAddress, headers: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {} });

  it('behind a trusted proxy, each client behind it has its own bucket', async () => {
    expect((await open(proxied, '10.0.0.1', '198.51.100.7')).statusCode).toBe(200);
    expect((await open(proxied, '10.0.0.1', '198.51.100.7')).statusCode).toBe(429);
    expect((await open(proxied, '10.0.0.1', '198.51.100.8')).statusCode).toBe(200);
    // The proxy appends the address it saw: the rightmost one a trusted proxy did not add is the client.
    expect((await open(proxied, '10.0.0.1', '203.0.113.1, 198.51.100.7')).statusCode).toBe(429);
  });

  it('from anywhere else X-Forwarded-For is ignored: a client cannot escape its bucket by forging it', async () => {
    expect((await open(api.app, '192.0.2.1', '198.51.100.1')).statusCode).toBe(200);
    const refused = await open(api.app, '192.0.2.1', '198.51.100.2');
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['retry-after']).toBeDefined();
    expect((await open(proxied, '192.0.2.9', '198.51.100.3')).statusCode).toBe(200);
    expect((await open(proxied, '192.0.2.9', '198.51.100.4')).statusCode).toBe(429);
  });

  it('IPv6 clients are counted by their /64', async () => {
    expect((await open(api.app, '2001:db8:1:2::5')).statusCode).toBe(200);
    expect((await open(api.app, '2001:db8:1:2::6')).statusCode).toBe(429);
    expect((await open(api.app, '2001:db8:1:3::5')).statusCode).toBe(200);
  });
});
