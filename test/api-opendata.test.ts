import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../api/app.js';
import type { ApiInstance } from '../api/deps.js';
import { coarsen, type AuditEntry, type Point } from '../core/index.js';
import { loadProfiles } from '../device-profiles/load.js';
import { SETUP_CALLER as SETUP } from '../registry/index.js';
import { InfluxStore } from '../store/influx/store.js';
import type { Reading } from '../store/types.js';
import { ADMIN, bearer, MQTT_URL, openTestApi, type TestApi } from './helpers/api.js';
import { startInfluxd, type Influxd } from './helpers/influxd.js';

/*
 * Open data from the outside: an open pilot with located devices read without
 * a key, its licence travelling with the data, and a private and an embargoed
 * pilot invisible; the same requests against the embedded store and a real
 * InfluxDB.
 */
const T0 = Date.parse('2025-04-01T00:00:00Z');
const log = pino({ level: 'silent' });
const EXACT: Point = { type: 'Point', coordinates: [24.65432, 60.20512] };
const CITATION = 'Acme Oy (2025). Air in Espoo. Testbed open data.';
/** The terms every JSON answer about the open pilot carries. */
const TERMS = {
  licence: 'CC-BY-4.0',
  licenceUrl: 'https://spdx.org/licenses/CC-BY-4.0.html',
  attribution: 'City of Espoo, Acme Oy',
  citation: CITATION,
};

let influxd: Influxd;
let influx: InfluxStore;
let embedded: TestApi;
let onInflux: ApiInstance;
const ids = { open: '', private: '', embargoed: '', device: '', company: '' };
let companyKey: string;

beforeAll(async () => {
  influxd = await startInfluxd();
  influx = await InfluxStore.open({ url: influxd.url, token: undefined, bucket: 'opendata', org: undefined }, log);
  embedded = await openTestApi();
  onInflux = await buildApp({
    registry: embedded.registry,
    mqttUrl: MQTT_URL,
    readings: influx,
    rejections: embedded.store,
    profiles: loadProfiles(),
    log,
    rateLimit: { perSecond: 1e6, burst: 1e6 },
    anonymousRateLimit: { perSecond: 1e6, burst: 1e6 },
  });
  const r = embedded.registry;
  const company = await r.createCompany(SETUP.scope, 'Acme Oy');
  ids.company = company.id;
  companyKey = (await r.createCompanyKey(SETUP, company.id)).key;
  const open = await r.createPilot(SETUP.scope, { companyId: company.id, testbedId: 'espoo', name: 'Air in Espoo', locationPrecisionMeters: 100 });
  const priv = await r.createPilot(SETUP.scope, { companyId: company.id, testbedId: 'espoo', name: 'Private' });
  const emb = await r.createPilot(SETUP.scope, {
    companyId: company.id,
    testbedId: 'espoo',
    name: 'Embargoed',
    sharing: 'open',
    openFrom: Date.parse('2099-01-01T00:00:00Z'),
  });
  Object.assign(ids, { open: open.id, private: priv.id, embargoed: emb.id });
  ids.device = (await r.createDevice(SETUP.scope, open.id, { profile: 'weather', location: EXACT, placement: 'school roof' })).device.id;
  const readings: Reading[] = [];
  for (const pilot of [open, priv, emb]) {
    const deviceId = pilot === open ? ids.device : (await r.createDevice(SETUP.scope, pilot.id, { profile: 'weather' })).device.id;
    for (let i = 0; i < 30; i++)
      readings.push({
        deviceId,
        pilotId: pilot.id,
        companyId: company.id,
        testbedId: 'espoo',
        profile: 'weather',
        time: T0 + i * 60_000,
        values: { temperature: i / 4 },
      });
  }
  await embedded.store.write(readings);
  await influx.write(readings);
}, 60_000);
afterAll(async () => {
  await onInflux?.close();
  await embedded?.close();
  await influx?.close();
  await influxd?.stop();
});

describe('open data: sharing and licence through the API', () => {
  it('a company opens its pilot with a licence and attribution; the change is audited', async () => {
    const res = await embedded.app.inject({
      method: 'PATCH',
      url: `/v1/pilots/${ids.open}`,
      headers: bearer(companyKey),
      payload: { sharing: 'open', attribution: 'City of Espoo, Acme Oy', licence: 'CC-BY-4.0', citation: CITATION },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ sharingNow: 'open', licence: 'CC-BY-4.0', attribution: 'City of Espoo, Acme Oy' });
    const bad = await embedded.app.inject({
      method: 'PATCH',
      url: `/v1/pilots/${ids.open}`,
      headers: bearer(companyKey),
      payload: { licence: 'not a licence!' },
    });
    expect(bad.statusCode).toBe(400);
    // The audit log says what changed, old to new; the refused change records no detail.
    const audit = (await embedded.app.inject({ url: '/v1/audit', headers: bearer(ADMIN) })).json().entries as AuditEntry[];
    const patches = audit.filter((e) => e.method === 'PATCH' && e.url === `/v1/pilots/${ids.open}`);
    expect(patches.map((e) => [e.status, e.action])).toEqual([
      [200, 'change'],
      [400, 'change'],
    ]);
    expect(patches[0]!.detail).toEqual({
      sharing: { from: 'private', to: 'open' },
      licence: { from: null, to: 'CC-BY-4.0' },
      attribution: { from: null, to: 'City of Espoo, Acme Oy' },
      citation: { from: null, to: CITATION },
    });
    expect(patches[1]!.detail).toBeNull();
  });

  it('a pilot created open is audited with the terms it was created with', async () => {
    const res = await embedded.app.inject({
      method: 'POST',
      url: '/v1/pilots',
      headers: bearer(ADMIN),
      // Under a long embargo, so that the open listings below stay as they are.
      payload: { companyId: ids.company, testbedId: 'espoo', name: 'Born open', sharing: 'open', licence: 'CC0-1.0', openFrom: '2099-01-01T00:00:00Z' },
    });
    expect(res.statusCode, res.body).toBe(201);
    const entries = (await embedded.app.inject({ url: '/v1/audit', headers: bearer(ADMIN) })).json().entries as AuditEntry[];
    const created = entries.find((e) => e.method === 'POST' && e.pilotId === res.json().id);
    expect(created?.detail).toMatchObject({
      name: { from: null, to: 'Born open' },
      sharing: { from: null, to: 'open' },
      licence: { from: null, to: 'CC0-1.0' },
      openFrom: { from: null, to: '2099-01-01T00:00:00.000Z' },
    });
    expect(created?.detail?.attribution).toBeUndefined();
  });

  it('a licence change is audited old to new, and answers with the new licence', async () => {
    const change = (licence: string) =>
      embedded.app.inject({ method: 'PATCH', url: `/v1/pilots/${ids.open}`, headers: bearer(companyKey), payload: { licence } });
    expect((await change('ODbL-1.0')).json()).toMatchObject({ licence: 'ODbL-1.0' });
    const read = await embedded.app.inject({ url: `/v1/pilots/${ids.open}` });
    expect(read.json()).toMatchObject({ licence: 'ODbL-1.0', licenceUrl: 'https://spdx.org/licenses/ODbL-1.0.html' });
    expect(read.headers.link).toBe('<https://spdx.org/licenses/ODbL-1.0.html>; rel="license"');
    expect((await change('CC-BY-4.0')).statusCode).toBe(200);
    const entries = (await embedded.app.inject({ url: '/v1/audit', headers: bearer(ADMIN) })).json().entries as AuditEntry[];
    expect(entries.filter((e) => e.method === 'PATCH' && e.status === 200).map((e) => e.detail?.licence)).toEqual([
      { from: null, to: 'CC-BY-4.0' },
      { from: 'CC-BY-4.0', to: 'ODbL-1.0' },
      { from: 'ODbL-1.0', to: 'CC-BY-4.0' },
    ]);
  });
});

describe.each([
  ['embedded', () => embedded.app],
  ['influxdb', () => onInflux],
])('open data without a key (%s store)', (_name, app) => {
  const get = (url: string) => app().inject({ url });

  it('lists the open pilot across testbeds with its licence and profiles, and not the private or embargoed ones', async () => {
    const res = await get('/v1/pilots?sharing=open');
    expect(res.statusCode).toBe(200);
    const pilots = res.json().pilots as { id: string; licence: string; profiles: string[]; testbedId: string }[];
    expect(pilots.map((p) => p.id)).toEqual([ids.open]);
    expect(pilots[0]).toMatchObject({ licence: 'CC-BY-4.0', profiles: ['weather'], testbedId: 'espoo' });
  });

  it('reads the readings with the licence in a Link header; CSV and NDJSON exports carry licence and attribution', async () => {
    const res = await get(`/v1/pilots/${ids.open}/readings?limit=5`);
    expect(res.statusCode).toBe(200);
    expect(res.headers.link).toBe('<https://spdx.org/licenses/CC-BY-4.0.html>; rel="license"');
    expect(res.json().readings).toHaveLength(5);
    const csv = await get(`/v1/pilots/${ids.open}/readings?format=csv&from=${new Date(T0).toISOString()}&to=${new Date(T0 + 3_600_000).toISOString()}`);
    const lines = csv.body.split('\r\n');
    expect(lines[0]).toBe(
      `# licence: CC-BY-4.0; licence URL: https://spdx.org/licenses/CC-BY-4.0.html; attribution: City of Espoo, Acme Oy; citation: ${CITATION}`,
    );
    expect(lines[1]).toMatch(/^time,deviceId,/);
    expect(lines.filter((l) => l !== '')).toHaveLength(32);
    const nd = await get(`/v1/pilots/${ids.open}/readings?format=ndjson&from=${new Date(T0).toISOString()}&to=${new Date(T0 + 3_600_000).toISOString()}`);
    const first = JSON.parse(nd.body.split('\n')[0]!) as Record<string, unknown>;
    expect(first).toMatchObject({ ...TERMS, values: { temperature: 0 } });
  });

  it('every JSON answer about the open pilot carries its licence, attribution and citation, with the Link header', async () => {
    const range = `from=${new Date(T0).toISOString()}&to=${new Date(T0 + 1_800_000).toISOString()}`;
    const urls = [
      `/v1/pilots/${ids.open}`,
      `/v1/pilots/${ids.open}/devices`,
      `/v1/pilots/${ids.open}/readings?limit=2`,
      `/v1/pilots/${ids.open}/aggregates?${range}&every=30m&fn=mean`,
      `/v1/pilots/${ids.open}/latest`,
      `/v1/devices/${ids.device}`,
      `/v1/devices/${ids.device}/readings?limit=2`,
      `/v1/devices/${ids.device}/aggregates?${range}&every=30m&fn=max`,
      `/v1/devices/${ids.device}/locations`,
    ];
    for (const url of urls) {
      for (const headers of [{}, bearer(companyKey)]) {
        const res = await app().inject({ url, headers });
        expect(res.statusCode, `${url}: ${res.body}`).toBe(200);
        expect(res.json(), url).toMatchObject(TERMS);
        expect(res.headers.link, url).toBe('<https://spdx.org/licenses/CC-BY-4.0.html>; rel="license"');
      }
    }
    // Not about one open pilot: no terms beside the data (a private pilot read by its company).
    const priv = await app().inject({ url: `/v1/pilots/${ids.private}/readings?limit=1`, headers: bearer(companyKey) });
    expect(priv.statusCode).toBe(200);
    expect(priv.json().licence).toBeUndefined();
    expect(priv.headers.link).toBeUndefined();
  });

  it('reads devices, latest and aggregates; locations on the 100 m grid; bbox filters', async () => {
    const device = (await get(`/v1/devices/${ids.device}`)).json();
    expect(device.location).toEqual(coarsen(EXACT, 100));
    expect(device.locationPrecisionMeters).toBe(100);
    expect((await get(`/v1/pilots/${ids.open}/devices?bbox=24.6,60.1,24.7,60.3`)).json().devices).toHaveLength(1);
    expect((await get(`/v1/pilots/${ids.open}/devices?bbox=25,60.1,25.1,60.3`)).json().devices).toHaveLength(0);
    expect((await get(`/v1/pilots/${ids.open}/devices?bbox=1,2,3`)).statusCode).toBe(400);
    expect((await get(`/v1/pilots/${ids.open}/latest`)).json().latest[0].values).toEqual({ temperature: 29 / 4 });
    const agg = await get(`/v1/pilots/${ids.open}/aggregates?from=${T0}&to=${T0 + 1_800_000}&every=30m&fn=count`);
    expect(agg.statusCode, agg.body).toBe(200);
    expect((await get(`/v1/devices/${ids.device}/locations`)).json().locations).toHaveLength(1);
  });

  it('finds the data set by testbed, measurement, time and place, with its coverage and download', async () => {
    const found = (await get(`/v1/datasets?testbedId=espoo&measurement=temperature&bbox=24.6,60.1,24.7,60.3&from=2025-04-01T00:10:00Z`)).json().datasets;
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({
      pilotId: ids.open,
      licence: 'CC-BY-4.0',
      coverage: { from: new Date(T0).toISOString(), to: new Date(T0 + 29 * 60_000).toISOString() },
      download: `/v1/pilots/${ids.open}/readings?format=csv`,
    });
    expect((await get(`/v1/datasets?from=2025-05-01T00:00:00Z`)).json().datasets).toHaveLength(0);
    expect((await get(`/v1/datasets?measurement=laeq`)).json().datasets).toHaveLength(0);
  });

  it('answers 404 for the private and the embargoed pilot exactly as for a missing one; 401 for rejections and writes', async () => {
    const missing = await get('/v1/pilots/pi_aaaaaaaaaaaaaaaa/readings');
    for (const id of [ids.private, ids.embargoed]) {
      for (const path of ['', '/readings', '/devices', '/latest']) {
        const res = await get(`/v1/pilots/${id}${path}`);
        expect(res.statusCode).toBe(404);
        expect(res.body).toBe((await get(`/v1/pilots/pi_aaaaaaaaaaaaaaaa${path}`)).body);
      }
    }
    expect(missing.statusCode).toBe(404);
    expect((await get(`/v1/devices/${ids.device}/rejections`)).statusCode).toBe(401);
    expect((await app().inject({ method: 'PATCH', url: `/v1/devices/${ids.device}`, payload: { placement: 'x' } })).statusCode).toBe(401);
    // A wrong key is never taken as no key.
    expect((await app().inject({ url: `/v1/pilots/${ids.open}`, headers: bearer('key_x.nope') })).statusCode).toBe(401);
  });
});

describe('open data: anonymous rate limit', () => {
  it('answers 429 with Retry-After past the per-address limit', async () => {
    const limited = await openTestApi({ anonymousRateLimit: { perSecond: 1, burst: 2 } });
    try {
      const codes = [];
      for (let i = 0; i < 3; i++) codes.push((await limited.app.inject({ url: '/v1/pilots?sharing=open' })).statusCode);
      expect(codes).toEqual([200, 200, 429]);
      const res = await limited.app.inject({ url: '/v1/pilots?sharing=open' });
      expect(res.headers['retry-after']).toBe('1');
      expect(res.json().error.code).toBe('TESTBED_RATE_LIMITED');
      // Another address has its own bucket.
      expect((await limited.app.inject({ url: '/v1/pilots?sharing=open', remoteAddress: '10.0.0.9' })).statusCode).toBe(200);
    } finally {
      await limited.close();
    }
  });
});

describe('open data: the live stream', () => {
  it("opens with the pilot's terms as its first event, before any reading, with the Link header", async () => {
    const address = await embedded.app.listen({ port: 0, host: '127.0.0.1' });
    const abort = new AbortController();
    const res = await fetch(`${address}/v1/pilots/${ids.open}/live`, { signal: abort.signal });
    try {
      expect(res.status).toBe(200);
      expect(res.headers.get('link')).toBe('<https://spdx.org/licenses/CC-BY-4.0.html>; rel="license"');
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      let text = '';
      while (!/event: licence\ndata: .*\n\n/.test(text)) text += decoder.decode((await reader.read()).value, { stream: true });
      const block = text.split('\n\n').find((b) => b.startsWith('event: licence'))!;
      expect(JSON.parse(block.split('\n')[1]!.slice('data: '.length))).toEqual(TERMS);
    } finally {
      abort.abort();
    }
  });
});
