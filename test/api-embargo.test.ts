import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SETUP_CALLER as SETUP } from '../registry/index.js';
import { openTestApi, type TestApi } from './helpers/api.js';

/*
 * An embargo ends by the clock alone: an open pilot with openFrom in the
 * future answers an anonymous client exactly as a missing one, on every /v1
 * read and every SensorThings path, and from openFrom on the same running
 * server answers with its data and its licence. The registry's clock is the
 * one the server reads; the test moves it.
 */
const HOUR = 3_600_000;
const START = Date.parse('2026-06-01T00:00:00Z');
const OPEN_FROM = START + 24 * HOUR;
let now = START;
let api: TestApi;
const ids = { pilot: '', device: '' };
const MISSING = { pilot: 'pi_aaaaaaaaaaaaaaaa', device: 'dev_aaaaaaaaaaaaaaaa' };

beforeAll(async () => {
  api = await openTestApi({}, () => now);
  const company = await api.registry.createCompany(SETUP.scope, 'Embargo Oy');
  const pilot = await api.registry.createPilot(SETUP.scope, {
    companyId: company.id,
    testbedId: 'espoo',
    name: 'Noise, embargoed',
    sharing: 'open',
    openFrom: OPEN_FROM,
    embargoSharing: 'research',
    attribution: 'City of Espoo',
  });
  ids.pilot = pilot.id;
  ids.device = (
    await api.registry.createDevice(SETUP.scope, pilot.id, { profile: 'weather', location: { type: 'Point', coordinates: [24.8, 60.2] } })
  ).device.id;
  await api.store.write([
    {
      deviceId: ids.device,
      pilotId: pilot.id,
      companyId: company.id,
      testbedId: 'espoo',
      profile: 'weather',
      time: START - HOUR,
      values: { temperature: 4.5 },
    },
  ]);
});
afterAll(async () => api?.close());

const get = (url: string) => api.app.inject({ url });
const V1 = (p: string, d: string) => [
  `/v1/pilots/${p}`,
  `/v1/pilots/${p}/readings`,
  `/v1/pilots/${p}/latest`,
  `/v1/pilots/${p}/devices`,
  `/v1/devices/${d}`,
  `/v1/devices/${d}/readings`,
];
const STA = (d: string) => [`/sta/v1.1/Things('${d}')`, `/sta/v1.1/Datastreams('${d}~temperature')/Observations`, `/sta/v1.1/FeaturesOfInterest('${d}')`];

describe('an embargo ends at openFrom, with no restart', () => {
  it('before openFrom: every anonymous read answers as for a missing id, and no list shows the pilot', async () => {
    const missing = [...V1(MISSING.pilot, MISSING.device), ...STA(MISSING.device)];
    for (const [i, url] of [...V1(ids.pilot, ids.device), ...STA(ids.device)].entries()) {
      const [res, none] = [await get(url), await get(missing[i]!)];
      expect(res.statusCode, url).toBe(404);
      expect(res.body, url).toBe(none.body);
    }
    expect((await get('/v1/pilots?sharing=open')).json().pilots).toEqual([]);
    expect((await get('/v1/datasets')).json().datasets).toEqual([]);
    for (const set of ['Things', 'Datastreams', 'Observations', 'Locations', 'FeaturesOfInterest']) {
      expect((await get(`/sta/v1.1/${set}`)).json().value, set).toEqual([]);
    }
    // A moment before the end it is still closed.
    now = OPEN_FROM - 1;
    expect((await get(`/v1/pilots/${ids.pilot}`)).statusCode).toBe(404);
  });

  it('from openFrom: the same server answers every read with the data and its licence', async () => {
    now = OPEN_FROM;
    for (const url of [...V1(ids.pilot, ids.device), ...STA(ids.device)]) {
      const res = await get(url);
      expect(res.statusCode, `${url}: ${res.body}`).toBe(200);
    }
    const pilot = (await get(`/v1/pilots/${ids.pilot}`)).json();
    expect(pilot).toMatchObject({ sharingNow: 'open', licence: 'CC-BY-4.0', attribution: 'City of Espoo' });
    const readings = await get(`/v1/pilots/${ids.pilot}/readings?from=${START - 2 * HOUR}&to=${START}`);
    expect(readings.json()).toMatchObject({ readings: [{ deviceId: ids.device, values: { temperature: 4.5 } }], licence: 'CC-BY-4.0' });
    expect(readings.headers.link).toBe('<https://spdx.org/licenses/CC-BY-4.0.html>; rel="license"');
    expect((await get('/v1/pilots?sharing=open')).json().pilots.map((p: { id: string }) => p.id)).toEqual([ids.pilot]);
    const things = (await get('/sta/v1.1/Things')).json().value as { '@iot.id': string; properties: Record<string, unknown> }[];
    expect(things.map((t) => t['@iot.id'])).toEqual([ids.device]);
    expect(things[0]!.properties).toMatchObject({ licence: 'CC-BY-4.0', attribution: 'City of Espoo', sharing: 'open' });
    const observations = (await get(`/sta/v1.1/Datastreams('${ids.device}~temperature')/Observations`)).json().value;
    expect(observations).toMatchObject([{ result: 4.5, phenomenonTime: new Date(START - HOUR).toISOString() }]);
  });
});
