import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devicesFromCsv } from '../api/routes/pilots/devices.js';
import { csvLine, parseCsv } from '../api/csv.js';
import { ADMIN, bearer, MQTT_URL, openTestApi, type TestApi } from './helpers/api.js';

let api: TestApi;
let now = Date.parse('2025-06-01T12:00:00Z');
beforeAll(async () => {
  api = await openTestApi({}, () => now);
});
afterAll(async () => api?.close());

const as = (key: string) => ({
  get: (url: string) => api.app.inject({ url, headers: bearer(key) }),
  post: (url: string, payload?: object) => api.app.inject({ method: 'POST', url, headers: bearer(key), ...(payload ? { payload } : {}) }),
  patch: (url: string, payload: object) => api.app.inject({ method: 'PATCH', url, headers: bearer(key), payload }),
  del: (url: string) => api.app.inject({ method: 'DELETE', url, headers: bearer(key) }),
});
const admin = as(ADMIN);

describe('API keys', () => {
  it('creates keys of each role, shows them once, lists and revokes them, and a revoked or expired key is 401 at once', async () => {
    const company = (await admin.post('/v1/companies', { name: 'Keys Oy' })).json();
    const op = await admin.post('/v1/keys', { role: 'operator', testbedIds: ['turku'], name: 'turku ops' });
    expect(op.statusCode).toBe(201);
    expect(op.json()).toMatchObject({ key: expect.stringMatching(/^key_/), role: 'operator', testbedIds: ['turku'], readOnly: false, createdBy: 'admin' });
    const operator = as(op.json().key);

    // An operator makes researcher and operator keys inside its testbeds, nothing wider.
    const res = await operator.post('/v1/keys', { role: 'researcher', testbedIds: ['turku'] });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ role: 'researcher', readOnly: true, createdBy: op.json().id });
    expect((await operator.post('/v1/keys', { role: 'researcher', testbedIds: ['oulu'] })).statusCode).toBe(403);
    expect((await operator.post('/v1/keys', { role: 'company', companyId: company.id })).statusCode).toBe(403);
    expect((await operator.post('/v1/keys', { role: 'admin' })).statusCode).toBe(403);

    // A company makes keys for itself only; asking for another company is 403, whether it exists or not.
    const co = as((await admin.post('/v1/keys', { role: 'company', companyId: company.id })).json().key);
    const child = await co.post('/v1/keys', { role: 'company', companyId: company.id, expiresAt: new Date(now + 60_000).toISOString(), readOnly: true });
    expect(child.statusCode).toBe(201);
    expect((await co.post('/v1/keys', { role: 'company', companyId: 'co_other' })).statusCode).toBe(403);
    expect((await co.post('/v1/keys', { role: 'company', companyId: company.id, expiresAt: new Date(now - 1).toISOString() })).statusCode).toBe(400);

    // The secret is never shown again.
    const listed = (await co.get('/v1/keys')).json().keys as Record<string, unknown>[];
    expect(listed.map((k) => k.id).sort()).toEqual([child.json().id, listed.find((k) => k.id !== child.json().id)?.id].sort());
    expect(JSON.stringify(listed)).not.toContain(child.json().key.split('.')[1]);

    // A read-only key reads but changes nothing; it expires at its time.
    const readOnly = as(child.json().key);
    expect((await readOnly.get('/v1/pilots')).statusCode).toBe(200);
    expect((await readOnly.post('/v1/keys', { role: 'company', companyId: company.id })).statusCode).toBe(403);
    now += 60_000;
    expect((await readOnly.get('/v1/pilots')).statusCode).toBe(401);
    now -= 60_000;

    const revoked = await co.del(`/v1/keys/${child.json().id}`);
    expect(revoked.statusCode).toBe(200);
    expect(revoked.json().revokedAt).toBe(new Date(now).toISOString());
    expect((await readOnly.get('/v1/pilots')).statusCode).toBe(401);
    expect((await operator.del(`/v1/keys/${child.json().id}`)).statusCode).toBe(404);
  });

  it('explains a malformed key request', async () => {
    const bad = await admin.post('/v1/keys', { role: 'operator' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.message).toContain('testbedIds');
    const unknown = await admin.post('/v1/keys', { role: 'operator', testbedIds: ['atlantis'] });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().error.message).toContain('atlantis');
    expect((await admin.post('/v1/keys', { role: 'company', companyId: 'co_nobody' })).statusCode).toBe(404);
  });
});

describe('pilots', () => {
  it('are created by admins and operators in their testbeds, updated, shared and ended', async () => {
    const company = (await admin.post('/v1/companies', { name: 'Pilots Oy' })).json();
    const operator = as((await admin.post('/v1/keys', { role: 'operator', testbedIds: ['vantaa'] })).json().key);
    const co = as((await admin.post('/v1/keys', { role: 'company', companyId: company.id })).json().key);
    const researcher = as((await admin.post('/v1/keys', { role: 'researcher' })).json().key);

    expect((await operator.post('/v1/pilots', { companyId: company.id, testbedId: 'oulu', name: 'P' })).statusCode).toBe(403);
    const created = await operator.post('/v1/pilots', { companyId: company.id, testbedId: 'vantaa', name: 'P', startsAt: '2025-06-01T00:00:00Z' });
    expect(created.statusCode).toBe(201);
    const pilot = created.json();
    expect(pilot).toMatchObject({ sharing: 'private', endedAt: null, startsAt: '2025-06-01T00:00:00.000Z' });

    expect((await researcher.get(`/v1/pilots/${pilot.id}`)).statusCode).toBe(404);
    expect((await co.patch(`/v1/pilots/${pilot.id}`, { endsAt: '2025-07-01T00:00:00Z' })).statusCode).toBe(403);
    const shared = await co.patch(`/v1/pilots/${pilot.id}`, { sharing: 'research', name: 'Renamed' });
    expect(shared.json()).toMatchObject({ sharing: 'research', name: 'Renamed' });
    expect((await researcher.get(`/v1/pilots/${pilot.id}`)).statusCode).toBe(200);
    expect((await operator.patch(`/v1/pilots/${pilot.id}`, { endsAt: '2025-05-01T00:00:00Z' })).statusCode).toBe(400);
    expect((await operator.patch(`/v1/pilots/${pilot.id}`, { endsAt: '2025-07-01T00:00:00Z' })).json().endsAt).toBe('2025-07-01T00:00:00.000Z');

    const device = (await co.post(`/v1/pilots/${pilot.id}/devices`, { profile: 'noise' })).json();
    const ended = await operator.post(`/v1/pilots/${pilot.id}/end`);
    expect(ended.json().endedAt).toBe(new Date(now).toISOString());
    expect(api.sessions.disconnected).toContain(device.id);
    expect((await api.registry.authenticateDevice(device.mqtt.username, Buffer.from(device.mqtt.password)))?.pilotEndsAt).toBe(now);
    expect((await operator.get('/v1/pilots?testbedId=vantaa')).json().pilots.map((p: { id: string }) => p.id)).toEqual([pilot.id]);
  });
});

describe('devices', () => {
  let pilotId: string;
  let co: ReturnType<typeof as>;
  beforeAll(async () => {
    const company = (await admin.post('/v1/companies', { name: 'Devices Oy' })).json();
    pilotId = (await admin.post('/v1/pilots', { companyId: company.id, testbedId: 'turku', name: 'P' })).json().id;
    co = as((await admin.post('/v1/keys', { role: 'company', companyId: company.id })).json().key);
  });

  it('registers a JSON list in bulk, all or nothing, listing every problem', async () => {
    const bad = await co.post(`/v1/pilots/${pilotId}/devices/bulk`, {
      devices: [{ profile: 'noise', username: 'b-1' }, { profile: 'nope' }, { profile: 'noise', username: 'b-1' }],
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.details).toEqual([
      { in: 'body', field: 'devices.1.profile', message: expect.stringContaining('Unknown profile "nope"') },
      { in: 'body', field: 'devices.2.username', message: 'b-1 is given twice in this request' },
    ]);
    expect((await co.get(`/v1/pilots/${pilotId}/devices`)).json().devices).toEqual([]);

    const ok = await co.post(`/v1/pilots/${pilotId}/devices/bulk`, {
      devices: [
        { profile: 'noise', username: 'b-1' },
        { profile: 'weather', name: 'roof' },
      ],
    });
    expect(ok.statusCode).toBe(201);
    const made = ok.json().devices as { id: string; username: string; mqtt: { url: string; username: string; password: string } }[];
    expect(made.map((d) => d.username)).toEqual(['b-1', made[1]!.id]);
    expect(made.map((d) => d.mqtt.url)).toEqual([MQTT_URL, MQTT_URL]);
    for (const d of made) expect((await api.registry.authenticateDevice(d.mqtt.username, Buffer.from(d.mqtt.password)))?.deviceId).toBe(d.id);
    // The name comes with the connection, so ingest labels readings without a lookup of its own.
    expect(await Promise.all(made.map(async (d) => (await api.registry.authenticateDevice(d.mqtt.username, Buffer.from(d.mqtt.password)))?.name))).toEqual([
      null,
      'roof',
    ]);
  });

  it('registers a CSV in bulk, quoted fields and all', async () => {
    const csv = 'profile,name,username\r\nnoise,"Stop 4, north side",csv-1\nweather,,\n';
    const res = await api.app.inject({
      method: 'POST',
      url: `/v1/pilots/${pilotId}/devices/bulk`,
      headers: { ...bearer(ADMIN), 'content-type': 'text/csv' },
      payload: csv,
    });
    expect(res.statusCode).toBe(201);
    expect(res.json().devices.map((d: { name: string | null; profile: string }) => [d.profile, d.name])).toEqual([
      ['noise', 'Stop 4, north side'],
      ['weather', null],
    ]);
    const broken = await api.app.inject({
      method: 'POST',
      url: `/v1/pilots/${pilotId}/devices/bulk`,
      headers: { ...bearer(ADMIN), 'content-type': 'text/csv' },
      payload: 'profile,colour\nnoise,red\n',
    });
    expect(broken.statusCode).toBe(400);
    expect(broken.json().error.message).toContain('profile, name, username');
  });

  it('registers a semicolon-separated CSV, as spreadsheets write it in Finnish, all or nothing, problems by line', async () => {
    const post = (payload: string) =>
      api.app.inject({
        method: 'POST',
        url: `/v1/pilots/${pilotId}/devices/bulk`,
        headers: { ...bearer(ADMIN), 'content-type': 'text/csv' },
        payload,
      });
    const before = (await api.registry.listDevices({ kind: 'all' }, pilotId)).length;
    const ok = await post('\uFEFFprofile;name;username\r\nnoise;"Pysäkki 4; pohjoinen";semi-1\r\nweather;Tori, itä;\r\n');
    expect(ok.statusCode).toBe(201);
    expect(ok.json().devices.map((d: { name: string; profile: string; username: string }) => [d.profile, d.name])).toEqual([
      ['noise', 'Pysäkki 4; pohjoinen'],
      ['weather', 'Tori, itä'],
    ]);
    const short = await post('profile;name\nnoise;a\n\nweather\n');
    expect(short.statusCode).toBe(400);
    expect(short.json().error.message).toBe('CSV line 4 has 1 fields; the header has 2 (;-separated)');
    const quote = await post('profile;name\nnoise;"open\n');
    expect(quote.json().error.message).toMatch(/^CSV line 2: /);
    const unknown = await post('profile;name\nnoise;a\nno-such-profile;b\n');
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().error.details.map((d: { field: string }) => d.field)).toEqual(['devices.1.profile']);
    expect(await api.registry.listDevices({ kind: 'all' }, pilotId)).toHaveLength(before + 2);
  });

  it('rotates a secret (the old stops, the device is disconnected) and revokes a device', async () => {
    const device = (await co.post(`/v1/pilots/${pilotId}/devices`, { profile: 'noise' })).json();
    api.sessions.online.add(device.id);
    api.sessions.seen.set(device.id, now - 5000);
    const listed = (await co.get(`/v1/pilots/${pilotId}/devices`)).json().devices.find((d: { id: string }) => d.id === device.id);
    expect(listed).toMatchObject({ profile: 'noise', connection: { online: true, lastSeen: new Date(now - 5000).toISOString() } });

    const rotated = await co.post(`/v1/devices/${device.id}/rotate-secret`);
    expect(rotated.statusCode).toBe(200);
    expect(device.mqtt.url).toBe(MQTT_URL);
    expect(rotated.json().mqtt).toMatchObject({ url: MQTT_URL, username: device.mqtt.username });
    expect(rotated.json().mqtt.password).not.toBe(device.mqtt.password);
    expect(api.sessions.disconnected).toContain(device.id);
    expect(await api.registry.authenticateDevice(device.mqtt.username, Buffer.from(device.mqtt.password))).toBeUndefined();
    expect((await api.registry.authenticateDevice(device.mqtt.username, Buffer.from(rotated.json().mqtt.password)))?.deviceId).toBe(device.id);
    expect((await co.get(`/v1/devices/${device.id}`)).json().connection.online).toBe(false);

    const revoked = await co.post(`/v1/devices/${device.id}/revoke`);
    expect(revoked.json().revokedAt).toBe(new Date(now).toISOString());
    expect(await api.registry.authenticateDevice(device.mqtt.username, Buffer.from(rotated.json().mqtt.password))).toBeUndefined();
    expect((await co.post(`/v1/devices/${device.id}/rotate-secret`)).statusCode).toBe(409);
  });
});

describe('CSV (pure)', () => {
  it('quotes as RFC 4180 says and parses what it writes', () => {
    const fields = ['plain', 'with, comma', 'with "quotes"', 'line\r\nbreak', '', 12.5];
    const line = csvLine(fields);
    expect(line).toBe('plain,"with, comma","with ""quotes""","line\r\nbreak",,12.5\r\n');
    const records = (text: string) => parseCsv(text).records.map((r) => r.fields);
    expect(records(line)).toEqual([fields.map(String)]);
    expect(parseCsv('\uFEFFa,b\n\n1,2').records).toEqual([
      { fields: ['a', 'b'], line: 1 },
      { fields: ['1', '2'], line: 3 },
    ]);
    // The delimiter is the header line's: a semicolon where a spreadsheet's decimal mark is a comma.
    expect(parseCsv('a;b\r\n"1,5";"x;y"\r\n')).toEqual({
      delimiter: ';',
      records: [
        { fields: ['a', 'b'], line: 1 },
        { fields: ['1,5', 'x;y'], line: 2 },
      ],
    });
    expect(() => parseCsv('a,"b\n')).toThrow(/^CSV line 1: .*not closed/i);
    expect(() => parseCsv('a,b\n1,2"c"\n')).toThrow(/^CSV line 2: .*quote/i);
    expect(devicesFromCsv('username,profile\nu1,noise\n')).toEqual({ devices: [{ username: 'u1', profile: 'noise' }] });
  });
});
