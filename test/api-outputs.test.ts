import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCsv } from '../api/csv.js';
import type { Reading } from '../store/types.js';
import { bearer, openTestApi, type TestApi } from './helpers/api.js';
import { SETUP_CALLER } from '../registry/index.js';

const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();
const rowsOf = (csv: string) => parseCsv(csv).records.map((r) => r.fields);

let api: TestApi;
let key: string;
let pilotId: string;
let air: string;
let people: string;
let ahead: string;
/** Whole hours, two and one before the hour now is in: the default range (up to now) covers them. */
const H0 = Math.floor(Date.now() / HOUR) * HOUR - 2 * HOUR;

beforeAll(async () => {
  api = await openTestApi();
  const company = await api.registry.createCompany(SETUP_CALLER.scope, 'Outputs Oy');
  const pilot = await api.registry.createPilot(SETUP_CALLER.scope, { companyId: company.id, testbedId: 'oulu', name: 'Outputs' });
  pilotId = pilot.id;
  key = (await api.registry.createCompanyKey(SETUP_CALLER, company.id)).key;
  air = (await api.registry.createDevice(SETUP_CALLER.scope, pilot.id, { profile: 'air-quality' })).device.id;
  people = (await api.registry.createDevice(SETUP_CALLER.scope, pilot.id, { profile: 'people-counter' })).device.id;
  ahead = (await api.registry.createDevice(SETUP_CALLER.scope, pilot.id, { profile: 'air-quality' })).device.id;
  const tags = { pilotId, companyId: company.id, testbedId: 'oulu' };
  const r = (deviceId: string, profile: string, time: number, values: Record<string, number>, suspect?: string[]): Reading => ({
    ...tags,
    deviceId,
    profile,
    time,
    values,
    ...(suspect ? { suspect } : {}),
  });
  await api.store.write([
    r(air, 'air-quality', H0, { pm25: 12.1, temperature: 20.1 }),
    r(air, 'air-quality', H0 + 60_000, { pm25: 650, temperature: 20.2 }, ['pm25']),
    r(air, 'air-quality', H0 + 120_000, { temperature: 20.2 }),
    r(people, 'people-counter', H0, { people_in: 1 }),
    r(people, 'people-counter', H0 + 1000, { people_in: 2 }),
    r(people, 'people-counter', H0 + 2000, { people_in: 2 }),
    // The second is ahead of the clock: outside the default range of every query alike.
    r(ahead, 'air-quality', H0, { temperature: 5 }),
    r(ahead, 'air-quality', Date.now() + HOUR, { temperature: 99 }),
  ]);
});
afterAll(async () => api?.close());

const get = (url: string) => api.app.inject({ url, headers: bearer(key) });

describe('exports carry what the JSON answer carries', () => {
  it('CSV: a unit in each measurement header and the quality flag columns; NDJSON: the same objects as JSON', async () => {
    const json = (await get(`/v1/devices/${air}/readings`)).json().readings;
    expect(json[1]).toEqual({ time: iso(H0 + 60_000), values: { pm25: 650, temperature: 20.2 }, suspect: ['pm25'] });
    const csv = rowsOf((await get(`/v1/devices/${air}/readings?format=csv&measurements=pm25,temperature`)).body);
    expect(csv).toEqual(
      [
        ['time', 'deviceId', 'pm25 [µg/m³]', 'temperature [°C]', 'suspect', 'stuck', 'gap'],
        [iso(H0), air, '12.1', '20.1', '', '', ''],
        [iso(H0 + 60_000), air, '650', '20.2', 'pm25', '', ''],
        [iso(H0 + 120_000), air, '', '20.2', '', '', ''],
        [iso(H0), people, '', '', ''].slice(0, 0),
      ].filter((row) => row.length > 0),
    );
    const nd = (await get(`/v1/devices/${air}/readings?format=ndjson`)).body.trimEnd().split('\n');
    expect(nd.map((l) => JSON.parse(l) as unknown)).toEqual(json.map((r: object) => ({ ...r, deviceId: air })));
  });

  it('counts have no unit and aggregates no suspect column', async () => {
    const csv = rowsOf((await get(`/v1/devices/${air}/aggregates?every=1h&fn=count&measurements=pm25&format=csv`)).body);
    expect(csv).toEqual([
      ['time', 'deviceId', 'pm25'],
      [iso(H0), air, '2'],
    ]);
  });
});

describe('latest', () => {
  it('gives the newest value of each measurement with its own time, in JSON, CSV and NDJSON', async () => {
    const body = (await get(`/v1/pilots/${pilotId}/latest?measurements=pm25,temperature`)).json();
    expect(body.latest.filter((r: { deviceId: string }) => r.deviceId === air)).toEqual([
      {
        deviceId: air,
        time: iso(H0 + 120_000),
        values: { pm25: 650, temperature: 20.2 },
        times: { pm25: iso(H0 + 60_000), temperature: iso(H0 + 120_000) },
        suspect: ['pm25'],
      },
    ]);
    const [header, ...rows] = rowsOf((await get(`/v1/pilots/${pilotId}/latest?measurements=pm25,temperature&format=csv`)).body);
    expect(header).toEqual(['time', 'deviceId', 'pm25 [µg/m³]', 'temperature [°C]', 'suspect']);
    // A CSV row is one instant: values from different readings go on rows of their own.
    expect(rows.filter((row) => row[1] === air)).toEqual([
      [iso(H0 + 60_000), air, '650', '', 'pm25'],
      [iso(H0 + 120_000), air, '', '20.2', ''],
    ]);
    const nd = (await get(`/v1/pilots/${pilotId}/latest?measurements=pm25,temperature&format=ndjson`)).body.trimEnd().split('\n');
    expect(nd.map((l) => JSON.parse(l) as unknown)).toEqual(body.latest);
  });
});

describe('ranges and rounding', () => {
  it('reads aggregates without from and to, as raw readings: from the first reading up to now', async () => {
    const res = await get(`/v1/devices/${air}/aggregates?every=1h&fn=count`);
    expect(res.statusCode).toBe(200);
    expect(res.json().aggregates).toEqual([{ deviceId: air, time: iso(H0), values: { pm25: 2, temperature: 3 } }]);
    expect((await get(`/v1/devices/${air}/readings`)).json().readings).toHaveLength(3);
    // A reading dated after now is outside both.
    expect((await get(`/v1/devices/${ahead}/readings`)).json().readings).toEqual([{ time: iso(H0), values: { temperature: 5 } }]);
    expect((await get(`/v1/devices/${ahead}/aggregates?every=1h&fn=count`)).json().aggregates).toEqual([
      { deviceId: ahead, time: iso(H0), values: { temperature: 1 } },
    ]);
  });

  it("rounds a mean to the measurement's resolution, or to 6 significant digits without one", async () => {
    const air1 = (await get(`/v1/devices/${air}/aggregates?every=1h&measurements=temperature`)).json().aggregates;
    // (20.1 + 20.2 + 20.2) / 3 = 20.166666666666668; temperature's resolution is 0.1
    expect(air1).toEqual([{ deviceId: air, time: iso(H0), values: { temperature: 20.2 } }]);
    const counted = (await get(`/v1/devices/${people}/aggregates?every=1h`)).json().aggregates;
    // (1 + 2 + 2) / 3; people_in is a count with no resolution
    expect(counted).toEqual([{ deviceId: people, time: iso(H0), values: { people_in: 1.66667 } }]);
  });
});
