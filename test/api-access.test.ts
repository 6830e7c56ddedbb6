import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { ANY_KEY, authorize, bearerToken, changes, reads, type RoutePolicy } from '../api/access.js';
import { buildApp } from '../api/app.js';
import type { ApiInstance } from '../api/deps.js';
import { type TestbedError } from '../core/errors.js';
import type { Caller, Role } from '../core/model.js';
import { Registry } from '../registry/registry.js';
import { EmbeddedStore } from '../store/embedded/store.js';
import { loadProfiles } from '../device-profiles/load.js';
import { MQTT_URL } from './helpers/api.js';
import { tempDir } from './helpers/tmp.js';
import { SETUP_CALLER as SETUP } from '../registry/index.js';

const ADMIN = 'api-test-admin-token-0123456789';
const T0 = Date.parse('2024-05-01T12:00:00.000Z');
const MISSING = { pilot: 'pi_aaaaaaaaaaaaaaaa', device: 'dev_aaaaaaaaaaaaaaaa' };

describe('bearerToken and authorize (pure)', () => {
  it.each([
    ['Bearer abc.def', 'abc.def'],
    ['bearer abc.def', 'abc.def'],
    ['BEARER  abc.def ', 'abc.def'],
    ['Bearer', undefined],
    ['Bearer ', undefined],
    ['Bearer a b', undefined],
    ['Basic dXNlcjpwYXNz', undefined],
    ['abc.def', undefined],
    [undefined, undefined],
  ])('%j -> %j', (header, token) => {
    expect(bearerToken(header)).toBe(token);
  });

  const grant = (role: Role, readOnly = false) => ({ role, companyId: null, testbedIds: null, readOnly, expiresAt: null });
  const admin: Caller = { keyId: 'admin', role: 'admin', scope: { kind: 'all' }, readOnly: false, grant: grant('admin') };
  const company: Caller = { keyId: 'key_1', role: 'company', scope: { kind: 'company', companyId: 'co_1' }, readOnly: false, grant: grant('company') };
  const readOnly: Caller = { ...company, readOnly: true, grant: grant('company', true) };
  it.each<[string, Caller, RoutePolicy, boolean]>([
    ['admin', admin, changes('admin'), true],
    ['admin', admin, ANY_KEY, true],
    ['company', company, ANY_KEY, true],
    ['company', company, changes('admin'), false],
    ['company', company, changes('admin', 'company'), true],
    ['read-only company', readOnly, reads('company'), true],
    ['read-only company', readOnly, changes('company'), false],
  ])('a %s key under %j: allowed %s', (_, caller, policy, allowed) => {
    if (allowed) expect(() => authorize(caller, policy)).not.toThrow();
    else expect(() => authorize(caller, policy)).toThrow(expect.objectContaining({ code: 'TESTBED_FORBIDDEN' }) as TestbedError);
  });
});

describe('API keys, roles and company isolation', () => {
  const tmp = tempDir('testbed-api-access-');
  let registry: Registry;
  let store: EmbeddedStore;
  let app: ApiInstance;
  let keyA: string;
  let keyB: string;
  let a: { company: string; pilot: string; device: string; username: string };

  beforeAll(async () => {
    registry = await Registry.open(tmp.dir, ADMIN);
    store = await EmbeddedStore.open(tmp.dir);
    app = await buildApp({ registry, mqttUrl: MQTT_URL, readings: store, rejections: store, profiles: loadProfiles(), log: pino({ level: 'silent' }) });
    const companyA = await registry.createCompany(SETUP.scope, 'A Oy');
    const companyB = await registry.createCompany(SETUP.scope, 'B Ab');
    keyA = (await registry.createCompanyKey(SETUP, companyA.id)).key;
    keyB = (await registry.createCompanyKey(SETUP, companyB.id)).key;
    await registry.createPilot(SETUP.scope, { companyId: companyB.id, testbedId: 'espoo', name: 'B pilot' });
    const pilot = await registry.createPilot(SETUP.scope, { companyId: companyA.id, testbedId: 'helsinki', name: 'A pilot' });
    const { device } = await registry.createDevice({ kind: 'all' }, pilot.id, { profile: 'noise', username: 'a-noise-1' });
    a = { company: companyA.id, pilot: pilot.id, device: device.id, username: device.username };
    const tags = { deviceId: device.id, pilotId: pilot.id, companyId: companyA.id, testbedId: 'helsinki' };
    await store.write([{ ...tags, profile: 'noise', time: T0, values: { laeq: 55.5 } }]);
    await store.writeRejections([
      { ...tags, time: T0, code: 'TESTBED_READING_EMPTY', reason: 'empty', payload: '{}', payloadEncoding: 'utf8', payloadBytes: 2 },
    ]);
  });
  afterAll(async () => {
    await app?.close();
    await store?.close();
    await registry?.close();
    tmp.remove();
  });

  const call = (method: 'GET' | 'POST', url: string, key?: string, payload?: object) =>
    app.inject({ method, url, ...(key === undefined ? {} : { headers: { authorization: key } }), ...(payload ? { payload } : {}) });

  it.each([
    ['no Authorization header', undefined],
    ['an empty header', ''],
    ['another scheme', 'Basic YWRtaW46YWRtaW4='],
    ['Bearer without a key', 'Bearer'],
    ['a wrong admin token', 'Bearer api-test-admin-token-wrong'],
    ['an unknown key id', 'Bearer key_aaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'],
  ])('answers 401 to %s, before validation or lookups', async (_, header) => {
    for (const res of [
      await call('GET', '/v1/companies', header),
      await call('POST', '/v1/companies', header, { wrong: 'body' }),
      // Rejections stay behind a key; readings of open pilots do not (test/api-opendata.test.ts).
      await call('GET', `/v1/devices/${MISSING.device}/rejections?limit=99999`, header),
    ]) {
      expect(res.statusCode).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer realm="testbed"');
      expect(res.json()).toEqual({ error: { code: 'TESTBED_UNAUTHORIZED', message: expect.any(String) } });
    }
  });

  it('answers 401 to a real key id with a wrong secret', async () => {
    const keyId = keyA.slice(0, keyA.indexOf('.'));
    const res = await call('GET', '/v1/companies', `Bearer ${keyId}.${'x'.repeat(32)}`);
    expect(res.statusCode).toBe(401);
  });

  it('answers 403 to a company key on admin routes, before reading the body', async () => {
    for (const [url, body] of [
      ['/v1/companies', { name: 'Sneaky' }],
      ['/v1/companies', { not: 'valid' }],
      [`/v1/companies/${a.company}/keys`, {}],
      ['/v1/pilots', { companyId: a.company, testbedId: 'helsinki', name: 'Own pilot' }],
    ] as const) {
      const res = await call('POST', url, `Bearer ${keyA}`, body);
      expect(res.statusCode).toBe(403);
      expect(res.json().error.code).toBe('TESTBED_FORBIDDEN');
    }
  });

  // Every route that reaches a company's object, with A's id and with an id that does not exist.
  const objectRoutes: { name: string; method: 'GET' | 'POST'; url: (ids: typeof MISSING) => string; body?: (ids: typeof MISSING) => object }[] = [
    { name: 'read pilot', method: 'GET', url: (ids) => `/v1/pilots/${ids.pilot}` },
    { name: 'create device in pilot', method: 'POST', url: (ids) => `/v1/pilots/${ids.pilot}/devices`, body: () => ({ profile: 'weather' }) },
    {
      name: 'create device with a taken username',
      method: 'POST',
      url: (ids) => `/v1/pilots/${ids.pilot}/devices`,
      body: () => ({ profile: 'weather', username: a.username }),
    },
    {
      name: 'create device with an unknown profile',
      method: 'POST',
      url: (ids) => `/v1/pilots/${ids.pilot}/devices`,
      body: () => ({ profile: 'no-such-profile' }),
    },
    { name: 'read device', method: 'GET', url: (ids) => `/v1/devices/${ids.device}` },
    { name: 'read device readings', method: 'GET', url: (ids) => `/v1/devices/${ids.device}/readings` },
    { name: 'read device readings in a range', method: 'GET', url: (ids) => `/v1/devices/${ids.device}/readings?from=${T0}&to=2030-01-01T00:00:00Z&limit=5` },
    { name: 'read device rejections', method: 'GET', url: (ids) => `/v1/devices/${ids.device}/rejections` },
  ];

  it.each(objectRoutes.map((r) => [r.name, r] as const))("%s: company B gets exactly the 404 of a missing id for A's object", async (_, route) => {
    const ids = { pilot: a.pilot, device: a.device };
    const asB = await call(route.method, route.url(ids), `Bearer ${keyB}`, route.body?.(ids));
    const missing = await call(route.method, route.url(MISSING), `Bearer ${keyB}`, route.body?.(MISSING));
    expect(asB.statusCode).toBe(404);
    expect(asB.json().error.code).toBe('TESTBED_NOT_FOUND');
    expect(asB.body).toBe(missing.body); // byte for byte: no id, no hint
    expect(asB.headers['content-length']).toBe(missing.headers['content-length']);
    expect(asB.headers['content-type']).toBe(missing.headers['content-type']);
  });

  it('lets company A and the admin reach the same objects (the 404s are scope, not broken routes)', async () => {
    const ids = { pilot: a.pilot, device: a.device };
    for (const key of [keyA, ADMIN]) {
      for (const route of objectRoutes.filter((r) => r.method === 'GET')) {
        const res = await call('GET', route.url(ids), `Bearer ${key}`);
        expect(res.statusCode, route.name).toBe(200);
      }
      const created = await call('POST', `/v1/pilots/${a.pilot}/devices`, `Bearer ${key}`, { profile: 'weather' });
      expect(created.statusCode).toBe(201);
      expect(created.json().companyId).toBe(a.company);
    }
    const readings = await call('GET', `/v1/devices/${a.device}/readings`, `Bearer ${keyA}`);
    expect(readings.json()).toEqual({ readings: [{ time: '2024-05-01T12:00:00.000Z', values: { laeq: 55.5 } }] });
  });
});
