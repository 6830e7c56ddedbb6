import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { buildApp } from '../api/app.js';
import type { ApiInstance } from '../api/deps.js';
import { start } from '../api/index.js';
import { MAX_QUERY_LIMIT } from '../api/limits.js';
import { loadConfig } from '../core/config.js';
import { healthOf, type IngestStats } from '../ingest/health.js';
import { Registry } from '../registry/registry.js';
import { SETUP_CALLER as SETUP } from '../registry/index.js';
import { EmbeddedStore } from '../store/embedded/store.js';
import { loadProfiles } from '../device-profiles/load.js';
import { MQTT_URL } from './helpers/api.js';
import { tempDir } from './helpers/tmp.js';

const ADMIN = 'api-test-admin-token-0123456789';
const T0 = Date.parse('2024-05-01T12:00:00.000Z');
const profiles = loadProfiles();
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const jsonOf = async (res: Response) => (await res.json()) as { error?: { code: string }; [field: string]: unknown };

describe('API happy path (inject)', () => {
  const tmp = tempDir('testbed-api-');
  let registry: Registry;
  let store: EmbeddedStore;
  let app: ApiInstance;
  // The ingest stage's counters as health reads them; the test moves them.
  const stats: IngestStats = {
    readings: 3,
    rejections: 1,
    rejectionsNotStored: 0,
    duplicates: 0,
    stored: 3,
    refused: 0,
    queue: { depthBytes: 0, maxBytes: 1 << 20, full: false, oldestAgeMs: null, failed: null },
    store: { kind: 'embedded', reachable: true, consecutiveFailures: 0, lastError: null },
    disk: { freeBytes: 1 << 30, minFreeBytes: 1 << 20, low: false },
  };

  beforeAll(async () => {
    registry = await Registry.open(tmp.dir, ADMIN);
    store = await EmbeddedStore.open(tmp.dir);
    app = await buildApp({
      registry,
      mqttUrl: MQTT_URL,
      readings: store,
      rejections: store,
      profiles,
      log: pino({ level: 'silent' }),
      ingest: { health: () => healthOf(stats) },
    });
  });
  afterAll(async () => {
    await app?.close();
    await store?.close();
    await registry?.close();
    tmp.remove();
  });

  it('answers health without a key with the status only; the counters it adds up from need an admin or operator key', async () => {
    const health = (key?: string) => app.inject({ url: '/v1/health', ...(key ? { headers: bearer(key) } : {}) });
    expect((await health()).json()).toEqual({ status: 'ok' });
    const res = await health(ADMIN);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      status: 'ok',
      ingest: { readings: 3, rejections: 1, rejectionsNotStored: 0, duplicates: 0, stored: 3, refused: 0 },
      queue: stats.queue,
      store: stats.store,
      disk: stats.disk,
    });
    const operator = (await registry.createKey(SETUP, { role: 'operator', companyId: null, testbedIds: ['helsinki'], readOnly: true, expiresAt: null }, null))
      .key;
    const company = (await registry.createCompanyKey(SETUP, (await registry.createCompany(SETUP.scope, 'Health Oy')).id)).key;
    expect((await health(operator)).json()).toHaveProperty('store');
    expect((await health(company)).json()).toEqual({ status: 'ok' });
    // A wrong key is refused, never taken as none.
    expect((await health(`${company}x`)).statusCode).toBe(401);
    stats.store.reachable = false;
    expect((await health(ADMIN)).json()).toMatchObject({ status: 'degraded', store: { reachable: false } });
    expect((await health()).json()).toEqual({ status: 'degraded' });
    stats.queue.full = true;
    expect((await health(ADMIN)).json()).toMatchObject({ status: 'failing', queue: { full: true } });
    stats.queue.full = false;
    stats.disk = { ...stats.disk, low: true };
    expect((await health(ADMIN)).json()).toMatchObject({ status: 'failing', disk: { low: true } });
    stats.disk = { ...stats.disk, low: false };
    stats.store.reachable = true;
  });

  it('lists the testbeds and the profiles to any key, profiles without their test vectors', async () => {
    const testbeds = await app.inject({ url: '/v1/testbeds', headers: bearer(ADMIN) });
    expect(testbeds.statusCode).toBe(200);
    expect(testbeds.json().testbeds).toContainEqual({ id: 'helsinki', name: 'Helsinki living lab', city: 'Helsinki', retentionDays: null });

    const res = await app.inject({ url: '/v1/profiles', headers: bearer(ADMIN) });
    expect(res.statusCode).toBe(200);
    const listed = res.json().profiles as Record<string, unknown>[];
    expect(listed.map((p) => p.id)).toEqual([...profiles.keys()].sort());
    for (const view of listed) {
      const { profile } = profiles.get(view.id as string)!;
      expect(view).not.toHaveProperty('tests');
      expect(view.measurements).toEqual(profile.measurements);
      expect(view).toMatchObject({ name: profile.name, formats: profile.formats });
      // What a device must send: a binary layout, where the profile takes binary; maker and model where known.
      expect(view.binary).toEqual(profile.binary);
      expect(view.manufacturer).toEqual(profile.manufacturer);
      expect(view.model).toEqual(profile.model);
    }
    expect(listed.some((v) => v.binary !== undefined)).toBe(true);
  });

  it('goes company -> key -> pilot -> device -> readings and rejections', async () => {
    const company = await app.inject({ method: 'POST', url: '/v1/companies', headers: bearer(ADMIN), payload: { name: 'Acme Sensors' } });
    expect(company.statusCode).toBe(201);
    const { id: companyId } = company.json();
    expect(company.json()).toEqual({ id: expect.stringMatching(/^co_/), name: 'Acme Sensors', createdAt: expect.any(String) });

    const keyRes = await app.inject({ method: 'POST', url: `/v1/companies/${companyId}/keys`, headers: bearer(ADMIN), payload: { name: 'ci' } });
    expect(keyRes.statusCode).toBe(201);
    const created = keyRes.json();
    expect(created).toEqual({
      key: expect.any(String),
      id: expect.stringMatching(/^key_/),
      role: 'company',
      companyId,
      testbedIds: null,
      name: 'ci',
      readOnly: false,
      scopes: [],
      expiresAt: null,
      revokedAt: null,
      createdBy: 'admin',
      createdAt: expect.any(String),
    });
    const key = created.key as string;
    const unnamed = await app.inject({ method: 'POST', url: `/v1/companies/${companyId}/keys`, headers: bearer(ADMIN) });
    expect(unnamed.statusCode).toBe(201);
    expect(unnamed.json().name).toBeNull();

    const pilotRes = await app.inject({
      method: 'POST',
      url: '/v1/pilots',
      headers: bearer(ADMIN),
      payload: { companyId, testbedId: 'helsinki', name: 'Air in Kalasatama', startsAt: '2024-05-01T03:00:00+03:00', endsAt: '2024-06-01T00:00:00Z' },
    });
    expect(pilotRes.statusCode).toBe(201);
    const pilot = pilotRes.json();
    expect(pilot).toMatchObject({ companyId, testbedId: 'helsinki', startsAt: '2024-05-01T00:00:00.000Z', endsAt: '2024-06-01T00:00:00.000Z' });
    const readBack = await app.inject({ url: `/v1/pilots/${pilot.id}`, headers: bearer(key) });
    expect(readBack.statusCode).toBe(200);
    expect(readBack.json()).toEqual(pilot);

    const deviceRes = await app.inject({
      method: 'POST',
      url: `/v1/pilots/${pilot.id}/devices`,
      headers: bearer(key),
      payload: { profile: 'weather', name: 'Roof station' },
    });
    expect(deviceRes.statusCode).toBe(201);
    const { mqtt, ...device } = deviceRes.json();
    expect(device).toMatchObject({ pilotId: pilot.id, companyId, testbedId: 'helsinki', profile: 'weather', name: 'Roof station', username: device.id });
    expect(mqtt).toEqual({ url: MQTT_URL, username: device.id, password: expect.any(String), topic: `devices/${device.id}/readings` });
    expect((await registry.authenticateDevice(mqtt.username, Buffer.from(mqtt.password)))?.deviceId).toBe(device.id);
    const deviceBack = await app.inject({ url: `/v1/devices/${device.id}`, headers: bearer(key) });
    expect(deviceBack.json()).toEqual({
      ...device,
      connection: { online: false, lastSeen: null },
      health: expect.objectContaining({ status: 'never', online: false, lastReadingAt: null, expectedIntervalSeconds: 300, rejectionsLastHour: {} }),
    });

    const tags = { deviceId: device.id, pilotId: pilot.id, companyId, testbedId: 'helsinki', profile: 'weather' };
    // Written out of order; read back oldest first.
    await store.write([
      { ...tags, time: T0 + 2000, values: { temperature: -2.5, pressure: 1013.25 } },
      { ...tags, time: T0, values: { temperature: -4.125, humidity: 88 } },
      { ...tags, time: T0 + 1000, values: { temperature: -3, wind_speed: 3.2 } },
    ]);
    const readings = async (query = '') => {
      const res = await app.inject({ url: `/v1/devices/${device.id}/readings${query}`, headers: bearer(key) });
      expect(res.statusCode).toBe(200);
      return res.json().readings as { time: string; values: Record<string, number> }[];
    };
    expect(await readings()).toEqual([
      { time: '2024-05-01T12:00:00.000Z', values: { temperature: -4.125, humidity: 88 } },
      { time: '2024-05-01T12:00:01.000Z', values: { temperature: -3, wind_speed: 3.2 } },
      { time: '2024-05-01T12:00:02.000Z', values: { temperature: -2.5, pressure: 1013.25 } },
    ]);
    const times = async (query: string) => (await readings(query)).map((r) => r.time.slice(17, 19));
    expect(await times(`?from=${T0 + 1000}`)).toEqual(['01', '02']); // from is inclusive, epoch ms
    expect(await times('?to=2024-05-01T15:00:02%2B03:00')).toEqual(['00', '01']); // to is exclusive, any zone
    expect(await times(`?from=2024-05-01T12:00:00.001Z&to=${T0 + 2000}`)).toEqual(['01']);
    expect(await times('?limit=2')).toEqual(['00', '01']);
    expect(await times(`?limit=2&from=${T0 + 1001}`)).toEqual(['02']); // the next page
    expect(await times(`?limit=${MAX_QUERY_LIMIT}`)).toEqual(['00', '01', '02']);

    await store.writeRejections([
      { ...tags, time: T0 + 500, code: 'TESTBED_READING_NOT_JSON', reason: 'not JSON', payload: 'temp=3', payloadEncoding: 'utf8', payloadBytes: 6 },
      {
        ...tags,
        time: T0 + 100,
        code: 'TESTBED_READING_OUT_OF_RANGE',
        reason: 'pressure must be at most 1100 hPa',
        payload: '{"pressure":101325}',
        payloadEncoding: 'utf8',
        payloadBytes: 19,
      },
    ]);
    const rejections = await app.inject({ url: `/v1/devices/${device.id}/rejections?from=2024-05-01T12:00:00Z`, headers: bearer(key) });
    expect(rejections.statusCode).toBe(200);
    expect(rejections.json()).toEqual({
      rejections: [
        {
          time: '2024-05-01T12:00:00.100Z',
          code: 'TESTBED_READING_OUT_OF_RANGE',
          reason: 'pressure must be at most 1100 hPa',
          payload: '{"pressure":101325}',
          payloadEncoding: 'utf8',
          payloadBytes: 19,
        },
        { time: '2024-05-01T12:00:00.500Z', code: 'TESTBED_READING_NOT_JSON', reason: 'not JSON', payload: 'temp=3', payloadEncoding: 'utf8', payloadBytes: 6 },
      ],
    });
  });

  it('publishes an OpenAPI 3.1 document with every route and the bearer scheme', async () => {
    const res = await app.inject({ url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toBe('3.1.0');
    const operations = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, ops]) =>
      Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(operations.sort()).toEqual([
      'DELETE /v1/alert-rules/{ruleId}',
      'DELETE /v1/keys/{keyId}',
      'DELETE /v1/webhooks/{webhookId}',
      'GET /.well-known/testbed-receipt-key',
      'GET /metrics',
      'GET /v1/alert-rules',
      'GET /v1/alerts',
      'GET /v1/audit',
      'GET /v1/companies',
      'GET /v1/datasets',
      'GET /v1/devices',
      'GET /v1/devices/{deviceId}',
      'GET /v1/devices/{deviceId}/aggregates',
      'GET /v1/devices/{deviceId}/commands',
      'GET /v1/devices/{deviceId}/commands/{commandId}',
      'GET /v1/devices/{deviceId}/config',
      'GET /v1/devices/{deviceId}/events',
      'GET /v1/devices/{deviceId}/locations',
      'GET /v1/devices/{deviceId}/readings',
      'GET /v1/devices/{deviceId}/rejections',
      'GET /v1/exports/{exportId}',
      'GET /v1/exports/{exportId}/download',
      'GET /v1/health',
      'GET /v1/keys',
      'GET /v1/me',
      'GET /v1/pilots',
      'GET /v1/pilots/{pilotId}',
      'GET /v1/pilots/{pilotId}/aggregates',
      'GET /v1/pilots/{pilotId}/devices',
      'GET /v1/pilots/{pilotId}/erasure',
      'GET /v1/pilots/{pilotId}/latest',
      'GET /v1/pilots/{pilotId}/live',
      'GET /v1/pilots/{pilotId}/readings',
      'GET /v1/profiles',
      'GET /v1/receipts/{receiptId}',
      'GET /v1/testbeds',
      'GET /v1/testbeds/{testbedId}/health',
      'GET /v1/webhooks',
      'GET /v1/webhooks/{webhookId}',
      'GET /v1/webhooks/{webhookId}/deliveries',
      'PATCH /v1/devices/{deviceId}',
      'PATCH /v1/pilots/{pilotId}',
      'POST /v1/alert-rules',
      'POST /v1/companies',
      'POST /v1/companies/{companyId}/keys',
      'POST /v1/devices/{deviceId}/commands',
      'POST /v1/devices/{deviceId}/revoke',
      'POST /v1/devices/{deviceId}/rotate-secret',
      'POST /v1/keys',
      'POST /v1/pilots',
      'POST /v1/pilots/{pilotId}/devices',
      'POST /v1/pilots/{pilotId}/devices/bulk',
      'POST /v1/pilots/{pilotId}/end',
      'POST /v1/pilots/{pilotId}/erase',
      'POST /v1/pilots/{pilotId}/exports',
      'POST /v1/webhooks',
      'PUT /v1/devices/{deviceId}/config/desired',
      'PUT /v1/testbeds/{testbedId}/retention',
    ]);
    // Every operation behind a key says who may call it and whether it changes anything.
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, Record<string, unknown>>>)) {
      for (const [method, op] of Object.entries(ops)) {
        if (path === '/v1/health') continue;
        expect(op['x-roles'], `${method} ${path}`).toEqual(expect.arrayContaining([expect.stringMatching(/^(admin|operator|company|researcher)$/)]));
        expect(typeof op['x-changes'], `${method} ${path}`).toBe('boolean');
        expect(op['x-changes'], `${method} ${path}`).toBe(method !== 'get');
      }
    }
    expect(doc.paths['/v1/audit'].get['x-roles']).toEqual(['admin', 'operator']);
    expect(doc.info.description).toContain('TESTBED_LIMIT_EXCEEDED');
    expect(doc.components.securitySchemes).toEqual({ apiKey: { type: 'http', scheme: 'bearer' } });
    expect(doc.security).toEqual([{ apiKey: [] }]);
    expect(doc.paths['/v1/health'].get.security).toEqual([]);
    const readingsOp = doc.paths['/v1/devices/{deviceId}/readings'].get;
    expect(readingsOp.parameters).toContainEqual(
      expect.objectContaining({ in: 'query', name: 'limit', schema: expect.objectContaining({ maximum: MAX_QUERY_LIMIT }) }),
    );
    expect(readingsOp.responses['200'].content['application/json'].schema.properties.readings.items).toEqual({ $ref: '#/components/schemas/Reading' });
    expect(readingsOp.responses['4XX'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Error' });
    // Browsable at /docs without a key.
    const docs = await app.inject({ url: '/docs/' });
    expect(docs.statusCode).toBe(200);
    expect(docs.headers['content-type']).toMatch(/^text\/html/);
    // Every reference resolves.
    for (const [, name] of JSON.stringify(doc).matchAll(/"#\/components\/schemas\/([^"]+)"/g)) expect(doc.components.schemas).toHaveProperty(name!);
  });
});

describe('API over real HTTP (start)', () => {
  it('listens on an ephemeral port, serves, refuses a body over 1 MiB, and stops', async () => {
    const tmp = tempDir('testbed-api-http-');
    const registry = await Registry.open(tmp.dir, ADMIN);
    const store = await EmbeddedStore.open(tmp.dir);
    const config = loadConfig({ TESTBED_DATA_DIR: tmp.dir, TESTBED_HOST: '127.0.0.1', TESTBED_HTTP_PORT: '0' });
    const api = await start(config, { registry, mqttUrl: MQTT_URL, readings: store, rejections: store, profiles, log: pino({ level: 'silent' }) });
    try {
      expect(api.port).toBeGreaterThan(0);
      expect(api.url).toBe(`http://127.0.0.1:${api.port}`);

      const health = await fetch(`${api.url}/v1/health`);
      expect(health.status).toBe(200);
      expect(await jsonOf(health)).toEqual({ status: 'ok' });

      const anonymous = await fetch(`${api.url}/v1/companies`);
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect((await jsonOf(anonymous)).error?.code).toBe('TESTBED_UNAUTHORIZED');

      const post = (body: string) =>
        fetch(`${api.url}/v1/companies`, { method: 'POST', headers: { ...bearer(ADMIN), 'content-type': 'application/json' }, body });
      const created = await post(JSON.stringify({ name: 'Over HTTP Oy' }));
      expect(created.status).toBe(201);
      expect(created.headers.get('content-type')).toMatch(/^application\/json/);
      expect((await jsonOf(created)).name).toBe('Over HTTP Oy');

      const huge = await post(JSON.stringify({ name: 'x'.repeat(1024 * 1024) }));
      expect(huge.status).toBe(413);
      expect((await jsonOf(huge)).error?.code).toBe('TESTBED_PAYLOAD_TOO_LARGE');

      const malformed = await post('{"name": "unterminated');
      expect(malformed.status).toBe(400);
      expect((await jsonOf(malformed)).error?.code).toBe('TESTBED_BAD_REQUEST');
    } finally {
      await api.stop();
      await store.close();
      await registry.close();
      tmp.remove();
    }
    await expect(fetch(`${api.url}/v1/health`)).rejects.toThrow();
  });
});
