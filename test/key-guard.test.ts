import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../api/app.js';
import type { ApiInstance } from '../api/deps.js';
import { loadProfiles } from '../device-profiles/load.js';
import { Registry } from '../registry/registry.js';
import { SETUP_CALLER as SETUP } from '../registry/index.js';
import { EmbeddedStore } from '../store/embedded/store.js';
import { ADMIN, bearer } from './helpers/api.js';
import { tempDir } from './helpers/tmp.js';

/** The API's key guards tried as an attacker would: keys in URLs, guessing, a leaked key that mints keys, one tenant's flood. */
describe('API key guards', () => {
  const tmp = tempDir('testbed-keyguard-');
  const logged: string[] = [];
  let registry: Registry;
  let store: EmbeddedStore;
  let app: ApiInstance;

  beforeAll(async () => {
    registry = await Registry.open(tmp.dir, ADMIN, { maxLiveKeys: 3 });
    store = await EmbeddedStore.open(tmp.dir);
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logged.push(chunk.toString());
        done();
      },
    });
    app = await buildApp({
      registry,
      mqttUrl: 'mqtt://gateway.test:1883',
      readings: store,
      rejections: store,
      profiles: loadProfiles(),
      log: pino({ level: 'trace' }, sink),
      rateLimit: { perSecond: 1e6, burst: 1e6 },
      companyRateLimit: { perSecond: 0.1, burst: 20 },
    });
  });
  afterAll(async () => {
    await app?.close();
    await store?.close();
    await registry?.close();
    tmp.remove();
  });

  const get = (url: string, key: string | undefined, from = '10.0.0.1') =>
    app.inject({ url, remoteAddress: from, ...(key === undefined ? {} : { headers: bearer(key) }) });
  const companyKey = async (name = `Co ${Math.random()}`) => await registry.createCompanyKey(SETUP, (await registry.createCompany(SETUP.scope, name)).id);

  it('refuses a key in the query string with 400 TESTBED_KEY_IN_URL, on every route, and never logs it', async () => {
    const { key } = await companyKey();
    const secret = key.slice(key.indexOf('.') + 1);
    for (const url of [`/v1/testbeds?key=${key}`, `/v1/health?api_key=${encodeURIComponent(key)}`, `/v1/testbeds?access_token=x`, `/v1/pilots?q=${key}`]) {
      const res = await get(url, undefined, '10.0.9.1');
      expect(res.statusCode, url).toBe(400);
      expect(res.json().error.code).toBe('TESTBED_KEY_IN_URL');
    }
    // Sent in a URL and in the header at once: still refused, and not audited with the URL.
    expect((await get(`/v1/testbeds?token=${key}`, key, '10.0.9.1')).statusCode).toBe(400);
    expect(logged.join('')).not.toContain(secret);
    expect(logged.join('')).toContain('[redacted]');
  });

  it('throttles failed keys per address and key id with 429 TESTBED_KEY_THROTTLED and Retry-After, without locking the holder out elsewhere', async () => {
    const { key } = await companyKey();
    const id = key.slice(0, key.indexOf('.'));
    const guess = (i: number) => `${id}.${String(i).padStart(32, 'x')}`;
    for (let i = 0; i < 6; i++) expect((await get('/v1/testbeds', guess(i), '10.0.1.1')).statusCode).toBe(401);
    const throttled = await get('/v1/testbeds', key, '10.0.1.1');
    expect(throttled.statusCode).toBe(429);
    expect(throttled.json().error.code).toBe('TESTBED_KEY_THROTTLED');
    expect(Number(throttled.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    // The holder, from another address, is not locked out by the guesser.
    expect((await get('/v1/testbeds', key, '10.0.1.2')).statusCode).toBe(200);
  });

  it('throttles an address guessing across many key ids, but not a key that has worked from there before', async () => {
    const { key: known } = await companyKey();
    expect((await get('/v1/testbeds', known, '10.0.2.1')).statusCode).toBe(200);
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++) statuses.push((await get('/v1/testbeds', `key_guess${String(i).padStart(8, '0')}.${'y'.repeat(32)}`, '10.0.2.1')).statusCode);
    expect(statuses.slice(0, 20).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(21)).toEqual([429, 429, 429, 429]);
    expect((await get('/v1/testbeds', known, '10.0.2.1')).statusCode).toBe(200);
    const { key: fresh } = await companyKey();
    expect((await get('/v1/testbeds', fresh, '10.0.2.1')).statusCode).toBe(429);
  });

  it('revokes every key minted under a revoked key, however deep', async () => {
    const admin = (method: 'POST' | 'DELETE', url: string, key: string, payload?: object) =>
      app.inject({ method, url, headers: bearer(key), remoteAddress: '10.0.3.1', ...(payload ? { payload } : {}) });
    const operator = { role: 'operator', testbedIds: ['helsinki'] };
    const leaked = (await admin('POST', '/v1/keys', ADMIN, operator)).json() as { key: string; id: string };
    const child = (await admin('POST', '/v1/keys', leaked.key, operator)).json() as { key: string };
    const grandchild = (await admin('POST', '/v1/keys', child.key, { role: 'researcher', readOnly: true, testbedIds: ['helsinki'] })).json() as { key: string };
    const sibling = (await admin('POST', '/v1/keys', ADMIN, operator)).json() as { key: string };
    for (const k of [leaked, child, grandchild]) expect((await get('/v1/testbeds', k.key, '10.0.3.2')).statusCode).toBe(200);
    expect((await admin('DELETE', `/v1/keys/${leaked.id}`, ADMIN)).statusCode).toBe(200);
    for (const k of [leaked, child, grandchild]) expect((await get('/v1/testbeds', k.key, '10.0.3.3')).statusCode).toBe(401);
    expect((await get('/v1/testbeds', sibling.key, '10.0.3.3')).statusCode).toBe(200);
  });

  it('caps live keys per company and per minting key with 409 TESTBED_KEY_LIMIT; revoking makes room', async () => {
    const co = await registry.createCompany(SETUP.scope, 'Capped Oy');
    const post = (key: string, payload: object) => app.inject({ method: 'POST', url: '/v1/keys', headers: bearer(key), remoteAddress: '10.0.4.1', payload });
    const first = (await post(ADMIN, { role: 'company', companyId: co.id })).json() as { key: string; id: string };
    expect((await post(first.key, { role: 'company', companyId: co.id })).statusCode).toBe(201);
    expect((await post(first.key, { role: 'company', companyId: co.id })).statusCode).toBe(201);
    const over = await post(first.key, { role: 'company', companyId: co.id });
    expect(over.statusCode).toBe(409);
    expect(over.json().error.code).toBe('TESTBED_KEY_LIMIT');
    expect((await post(ADMIN, { role: 'company', companyId: co.id })).json().error.code).toBe('TESTBED_KEY_LIMIT');
    // An operator key cannot multiply itself past the cap either.
    const op = (await post(ADMIN, { role: 'operator', testbedIds: ['espoo'] })).json() as { key: string };
    for (let i = 0; i < 3; i++) expect((await post(op.key, { role: 'researcher', readOnly: true, testbedIds: ['espoo'] })).statusCode).toBe(201);
    expect((await post(op.key, { role: 'researcher', readOnly: true, testbedIds: ['espoo'] })).json().error.code).toBe('TESTBED_KEY_LIMIT');
    const listed = (await app.inject({ url: '/v1/keys', headers: bearer(first.key), remoteAddress: '10.0.4.1' })).json() as { keys: { id: string }[] };
    const other = listed.keys.find((k) => k.id !== first.id)!;
    expect((await app.inject({ method: 'DELETE', url: `/v1/keys/${other.id}`, headers: bearer(first.key), remoteAddress: '10.0.4.1' })).statusCode).toBe(200);
    expect((await post(first.key, { role: 'company', companyId: co.id })).statusCode).toBe(201);
  });

  it("limits a company's keys together, so one tenant cannot starve the others", async () => {
    const co = await registry.createCompany(SETUP.scope, 'Busy Oy');
    const [k1, k2] = [(await registry.createCompanyKey(SETUP, co.id)).key, (await registry.createCompanyKey(SETUP, co.id)).key];
    const other = (await companyKey('Quiet Oy')).key;
    const statuses = [];
    // Each key alone is far below its own rate; together they pass the company's burst of 20.
    for (let i = 0; i < 21; i++) statuses.push((await get('/v1/pilots', i % 2 ? k1 : k2, '10.0.5.1')).statusCode);
    expect(statuses).toEqual([...Array<number>(20).fill(200), 429]);
    const limited = await get('/v1/pilots', k1, '10.0.5.1');
    expect(limited.json().error).toMatchObject({ code: 'TESTBED_RATE_LIMITED', message: expect.stringContaining("company's keys") });
    expect(limited.headers['retry-after']).toBeDefined();
    expect((await get('/v1/pilots', other, '10.0.5.1')).statusCode).toBe(200);
  });
});
