import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../api/app.js';
import type { ApiInstance } from '../api/deps.js';
import { InfluxStore } from '../store/influx/store.js';
import type { Reading } from '../store/types.js';
import { loadProfiles } from '../device-profiles/load.js';
import { bearer, MQTT_URL, openTestApi, type TestApi } from './helpers/api.js';
import { startInfluxd, type Influxd } from './helpers/influxd.js';
import { SETUP_CALLER as SETUP } from '../registry/index.js';

/*
 * The same readings in the embedded store and in a real InfluxDB 1.x: every
 * query route answers the same, byte for byte, whichever store is behind it.
 */
const T0 = Date.parse('2025-04-01T00:00:00Z');
const log = pino({ level: 'silent' });

let influxd: Influxd;
let influx: InfluxStore;
let embedded: TestApi;
let onInflux: ApiInstance;
let key: string;
let pilotId: string;
let deviceIds: string[];

beforeAll(async () => {
  influxd = await startInfluxd();
  influx = await InfluxStore.open({ url: influxd.url, token: undefined, bucket: 'api', org: undefined }, log);
  embedded = await openTestApi();
  onInflux = await buildApp({
    registry: embedded.registry,
    mqttUrl: MQTT_URL,
    readings: influx,
    rejections: embedded.store,
    profiles: loadProfiles(),
    log,
    rateLimit: { perSecond: 1e6, burst: 1e6 },
  });
  const company = await embedded.registry.createCompany(SETUP.scope, 'Both Oy');
  const pilot = await embedded.registry.createPilot(SETUP.scope, { companyId: company.id, testbedId: 'turku', name: 'both' });
  pilotId = pilot.id;
  key = (await embedded.registry.createCompanyKey(SETUP, company.id)).key;
  deviceIds = await Promise.all(
    ['weather', 'weather', 'noise'].map(async (profile) => (await embedded.registry.createDevice(SETUP.scope, pilot.id, { profile })).device.id),
  );
  const readings: Reading[] = [];
  for (let i = 0; i < 400; i++) {
    const d = i % 3;
    const values: Record<string, number> =
      d === 2
        ? { laeq: 40 + (i % 17) * 0.5, lamax: 60 + (i % 5) }
        : i % 4 === 0
          ? { temperature: -2 + (i % 23) * 0.25 }
          : { temperature: -2 + (i % 23) * 0.25, humidity: 50 + (i % 9) };
    // Devices 0 and 1 share instants: ties that pages must split the same way.
    // Some carry the quality flag, which InfluxDB keeps as a string field beside the values.
    const flag = i % 11 === 0 ? { suspect: [Object.keys(values)[0]!] } : {};
    readings.push({
      deviceId: deviceIds[d]!,
      pilotId,
      companyId: company.id,
      testbedId: 'turku',
      profile: d === 2 ? 'noise' : 'weather',
      time: T0 + Math.floor(i / 2) * 45_000,
      values,
      ...flag,
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

const both = async (url: string) => {
  const [a, b] = await Promise.all([embedded.app.inject({ url, headers: bearer(key) }), onInflux.inject({ url, headers: bearer(key) })]);
  expect(a.statusCode, `${url}: ${a.body}`).toBe(200);
  expect(b.statusCode, `${url}: ${b.body}`).toBe(200);
  expect(b.headers['content-type']).toBe(a.headers['content-type']);
  expect(b.body, url).toBe(a.body);
  return a;
};

describe('the same answers from the embedded store and InfluxDB', () => {
  it('raw pages of a pilot, cursor by cursor', async () => {
    let url = `/v1/pilots/${pilotId}/readings?limit=33`;
    for (let pages = 1; ; pages++) {
      const next = (await both(url)).json().next as string | undefined;
      if (!next) {
        expect(pages).toBe(Math.ceil(400 / 33));
        break;
      }
      url = `/v1/pilots/${pilotId}/readings?limit=33&cursor=${encodeURIComponent(next)}`;
    }
  });

  it.each(['mean', 'min', 'max', 'sum', 'count', 'first', 'last'])('aggregates with fn=%s, of the pilot and of a device', async (fn) => {
    const q = `from=${new Date(T0).toISOString()}&to=${new Date(T0 + 3 * 3_600_000).toISOString()}&fn=${fn}`;
    await both(`/v1/pilots/${pilotId}/aggregates?${q}&every=15m`);
    await both(`/v1/pilots/${pilotId}/aggregates?${q}&every=1h&measurements=humidity,laeq`);
    await both(`/v1/devices/${deviceIds[0]}/aggregates?${q}&every=1m`);
  });

  it('the latest reading of each device, and exports as CSV and NDJSON', async () => {
    await both(`/v1/pilots/${pilotId}/latest`);
    await both(`/v1/pilots/${pilotId}/latest?measurements=humidity`);
    const flagged = await both(`/v1/pilots/${pilotId}/readings?measurements=temperature&limit=200`);
    expect(flagged.json().readings.some((r: { suspect?: string[] }) => r.suspect?.includes('temperature'))).toBe(true);
    await both(`/v1/pilots/${pilotId}/readings?format=csv`);
    await both(`/v1/devices/${deviceIds[2]}/readings?format=ndjson`);
    await both(`/v1/pilots/${pilotId}/readings?format=ndjson&measurements=lamax,humidity`);
    await both(`/v1/pilots/${pilotId}/aggregates?from=${T0}&to=${T0 + 86_400_000}&every=30m&fn=max&format=csv`);
  });
});
