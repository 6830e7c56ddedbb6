import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { buildApp, type ApiDeps } from '../api/app.js';
import type { ApiInstance } from '../api/deps.js';
import { DEFAULT_QUERY_LIMIT, MAX_QUERY_LIMIT } from '../api/limits.js';
import { errorBodySchema } from '../api/schemas/error.js';
import { parseInstant } from '../api/schemas/time-range.js';
import { Registry } from '../registry/registry.js';
import { EmbeddedStore } from '../store/embedded/store.js';
import { loadProfiles } from '../device-profiles/load.js';
import { MQTT_URL } from './helpers/api.js';
import { tempDir } from './helpers/tmp.js';
import { SETUP_CALLER as SETUP } from '../registry/index.js';

const ADMIN = 'api-test-admin-token-0123456789';
const auth = { authorization: `Bearer ${ADMIN}` };
const profiles = loadProfiles();

/** A real registry and embedded store behind the app, logging into `lines`. */
async function openApi(extra: Partial<ApiDeps> = {}) {
  const tmp = tempDir('testbed-api-errors-');
  const registry = await Registry.open(tmp.dir, ADMIN);
  const store = await EmbeddedStore.open(tmp.dir);
  const lines: string[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
  const app = await buildApp({ registry, mqttUrl: MQTT_URL, readings: store, rejections: store, profiles, log, ...extra });
  return {
    app,
    registry,
    store,
    lines,
    async close() {
      await app.close();
      await store.close();
      await registry.close();
      tmp.remove();
    },
  };
}

/** Checks the one error shape and returns the error. */
function errorOf(res: { statusCode: number; body: string }, status: number, code: string) {
  expect(res.statusCode, res.body).toBe(status);
  const body = JSON.parse(res.body) as unknown;
  expect(errorBodySchema.strict().safeParse(body).success, res.body).toBe(true);
  const { error } = errorBodySchema.parse(body);
  expect(error.code).toBe(code);
  expect(error.message.length).toBeGreaterThan(10);
  return error;
}

describe('parseInstant (pure)', () => {
  it.each([
    ['0', 0],
    ['1714564800000', 1714564800000],
    ['2024-05-01T12:00:00Z', 1714564800000],
    ['2024-05-01T15:00:00.250+03:00', 1714564800250],
    ['2024-05-01T12:00:00', undefined], // no zone
    ['2024-05-01', undefined],
    ['2024-02-30T00:00:00Z', undefined],
    ['-1', undefined],
    ['1e12', undefined],
    ['yesterday', undefined],
    ['', undefined],
  ])('%j -> %j', (text, ms) => {
    expect(parseInstant(text)).toBe(ms);
  });
});

describe('API errors: one shape, stable codes', () => {
  let api: Awaited<ReturnType<typeof openApi>>;
  let app: ApiInstance;
  let pilotId: string;
  let deviceId: string;

  beforeAll(async () => {
    api = await openApi();
    app = api.app;
    const company = await api.registry.createCompany(SETUP.scope, 'Errors Oy');
    pilotId = (await api.registry.createPilot(SETUP.scope, { companyId: company.id, testbedId: 'helsinki', name: 'P' })).id;
    deviceId = (await api.registry.createDevice({ kind: 'all' }, pilotId, { profile: 'weather', username: 'taken-name' })).device.id;
  });
  afterAll(async () => api?.close());

  const get = (url: string) => app.inject({ url, headers: auth });
  const post = (url: string, payload: unknown) => app.inject({ method: 'POST', url, headers: auth, payload: payload as object });

  it.each([
    ['a time that is not ISO 8601', '?from=yesterday', 'from'],
    ['an ISO time without a zone', '?to=2024-05-01T12:00:00', 'to'],
    ['from equal to to', '?from=1714564800000&to=2024-05-01T12:00:00Z', 'to'],
    ['from after to', '?from=2024-05-02T00:00:00Z&to=2024-05-01T00:00:00Z', 'to'],
    ['a zero limit', '?limit=0', 'limit'],
    ['a fractional limit', '?limit=1.5', 'limit'],
    ['a limit that is not a number', '?limit=many', 'limit'],
    ['an unknown query parameter', '?form=2024-05-01T00:00:00Z', 'form'],
  ])('readings query with %s -> 400 naming the field', async (_, query, field) => {
    for (const kind of ['readings', 'rejections']) {
      const error = errorOf(await get(`/v1/devices/${deviceId}/${kind}${query}`), 400, 'TESTBED_BAD_REQUEST');
      expect(error.details).toEqual([expect.objectContaining({ in: 'querystring', field, message: expect.any(String) })]);
      expect(error.message).toContain(field);
    }
  });

  it('a limit beyond the maximum -> 400 TESTBED_LIMIT_EXCEEDED saying the limit and how to page', async () => {
    const error = errorOf(await get(`/v1/devices/${deviceId}/readings?limit=${MAX_QUERY_LIMIT + 1}`), 400, 'TESTBED_LIMIT_EXCEEDED');
    expect(error.message).toContain(String(MAX_QUERY_LIMIT));
    expect(error.message).toContain('next cursor');
    expect(error.message).toContain('format=csv');
    expect((await get(`/v1/devices/${deviceId}/readings?limit=${MAX_QUERY_LIMIT}`)).statusCode).toBe(200);
    expect(DEFAULT_QUERY_LIMIT).toBeLessThanOrEqual(MAX_QUERY_LIMIT);
  });

  it.each([
    ['an extra field', '/v1/companies', { name: 'X', extra: 1 }, [{ in: 'body', field: 'extra', message: 'is not a known field' }]],
    ['a missing field', '/v1/companies', {}, [{ in: 'body', field: 'name', message: expect.any(String) }]],
    ['a field of the wrong type', '/v1/companies', { name: 5 }, [{ in: 'body', field: 'name', message: expect.any(String) }]],
    ['an array for a body', '/v1/companies', [{ name: 'X' }], [{ in: 'body', message: expect.any(String) }]],
    [
      'a pilot ending before it starts',
      '/v1/pilots',
      { companyId: 'co_x', testbedId: 'helsinki', name: 'P', startsAt: '2024-06-01T00:00:00Z', endsAt: '2024-06-01T02:59:59+03:00' },
      [{ in: 'body', field: 'endsAt', message: 'endsAt must be later than startsAt' }],
    ],
    [
      'a pilot start without a zone',
      '/v1/pilots',
      { companyId: 'co_x', testbedId: 'helsinki', name: 'P', startsAt: '2024-06-01T00:00:00' },
      [{ in: 'body', field: 'startsAt', message: expect.any(String) }],
    ],
    [
      'a username with a topic separator',
      'PILOT/devices',
      { profile: 'weather', username: 'a/b' },
      [{ in: 'body', field: 'username', message: expect.any(String) }],
    ],
  ])('a body with %s -> 400 listing each problem', async (_, url, body, details) => {
    const error = errorOf(await post(url.replace('PILOT', `/v1/pilots/${pilotId}`), body), 400, 'TESTBED_BAD_REQUEST');
    expect(error.details).toEqual(details);
  });

  it('an unknown profile -> 400 listing the known profiles', async () => {
    const error = errorOf(await post(`/v1/pilots/${pilotId}/devices`, { profile: 'wether' }), 400, 'TESTBED_BAD_REQUEST');
    const known = [...profiles.keys()].sort();
    expect(error.details).toEqual({ field: 'profile', knownProfiles: known });
    for (const id of known) expect(error.message).toContain(id);
  });

  it('a taken MQTT username answers exactly as an unsafe one (400, nothing confirms it exists); an unknown company or testbed -> 404', async () => {
    const taken = errorOf(await post(`/v1/pilots/${pilotId}/devices`, { profile: 'weather', username: 'taken-name' }), 400, 'TESTBED_BAD_REQUEST');
    const unsafe = errorOf(await post(`/v1/pilots/${pilotId}/devices`, { profile: 'weather', username: 'bad/name' }), 400, 'TESTBED_BAD_REQUEST');
    expect(taken).toEqual(unsafe);
    errorOf(await post('/v1/pilots', { companyId: 'co_nobody', testbedId: 'helsinki', name: 'P' }), 404, 'TESTBED_NOT_FOUND');
    const company = await api.registry.createCompany(SETUP.scope, 'Real Oy');
    errorOf(await post('/v1/pilots', { companyId: company.id, testbedId: 'atlantis', name: 'P' }), 404, 'TESTBED_NOT_FOUND');
    errorOf(await post('/v1/companies/co_nobody/keys', {}), 404, 'TESTBED_NOT_FOUND');
  });

  it('malformed JSON, a wrong content type and an oversized body get the same shape', async () => {
    const raw = (payload: string, type: string) => app.inject({ method: 'POST', url: '/v1/companies', headers: { ...auth, 'content-type': type }, payload });
    errorOf(await raw('{"name": ', 'application/json'), 400, 'TESTBED_BAD_REQUEST');
    errorOf(await raw('', 'application/json'), 400, 'TESTBED_BAD_REQUEST');
    errorOf(await raw('name=x', 'text/plain'), 400, 'TESTBED_BAD_REQUEST'); // parsed as text, refused by the schema
    errorOf(await raw('name=x', 'application/x-www-form-urlencoded'), 400, 'TESTBED_BAD_REQUEST'); // no parser at all
    const huge = errorOf(await raw(JSON.stringify({ name: 'x'.repeat(1024 * 1024) }), 'application/json'), 413, 'TESTBED_PAYLOAD_TOO_LARGE');
    expect(huge.message).toContain(String(1024 * 1024));
  });

  it('an unknown route -> 404 TESTBED_NOT_FOUND, with or without a key', async () => {
    errorOf(await get('/v1/nothing-here'), 404, 'TESTBED_NOT_FOUND');
    errorOf(await app.inject({ url: '/v1/gadgets' }), 404, 'TESTBED_NOT_FOUND');
    errorOf(await app.inject({ method: 'DELETE', url: `/v1/devices/${deviceId}`, headers: auth }), 404, 'TESTBED_NOT_FOUND');
  });

  it('logs one line per request and never the key', async () => {
    await get('/v1/testbeds');
    const completed = api.lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'request completed' && l.url === '/v1/testbeds');
    expect(completed).toContainEqual(expect.objectContaining({ stage: 'api', method: 'GET', status: 200, ms: expect.any(Number) }));
    expect(api.lines.some((l) => l.includes('incoming request'))).toBe(false);
    expect(api.lines.join('\n')).not.toContain(ADMIN);
  });
});

describe('API errors from the server side', () => {
  it('an unexpected failure -> 500 TESTBED_INTERNAL without its message or stack; the log has both', async () => {
    const api = await openApi({
      ingest: {
        health: () => {
          throw new Error('boom: secret internals');
        },
      },
    });
    try {
      const res = await api.app.inject({ url: '/v1/health' });
      const error = errorOf(res, 500, 'TESTBED_INTERNAL');
      expect(error.message).toContain('request id');
      expect(res.body).not.toContain('boom');
      expect(res.body).not.toMatch(/\bat .*\.ts/);
      const logged = api.lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'unexpected error');
      expect(logged).toMatchObject({ level: 50, err: { message: 'boom: secret internals', stack: expect.stringContaining('Error') } });
    } finally {
      await api.close();
    }
  });

  it('a reading store that cannot answer -> 503 TESTBED_STORE_UNAVAILABLE for readings and rejections', async () => {
    const api = await openApi();
    try {
      const company = await api.registry.createCompany(SETUP.scope, 'Down Oy');
      const pilot = await api.registry.createPilot(SETUP.scope, { companyId: company.id, testbedId: 'helsinki', name: 'P' });
      const { device } = await api.registry.createDevice({ kind: 'all' }, pilot.id, { profile: 'weather' });
      await api.store.close(); // a real fault: the store's connections are gone
      for (const kind of ['readings', 'rejections']) {
        errorOf(await api.app.inject({ url: `/v1/devices/${device.id}/${kind}`, headers: auth }), 503, 'TESTBED_STORE_UNAVAILABLE');
      }
      expect(api.lines.some((l) => l.includes('TESTBED_STORE_UNAVAILABLE'))).toBe(true);
    } finally {
      await api.close();
    }
  });
});
