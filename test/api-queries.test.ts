import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../api/app.js';
import type { ApiInstance } from '../api/deps.js';
import { parseCsv } from '../api/csv.js';
import type { Reading, ReadingStore } from '../store/types.js';
import { loadProfiles } from '../device-profiles/load.js';
import { ADMIN, bearer, MQTT_URL, openTestApi, type TestApi } from './helpers/api.js';
import { SETUP_CALLER as SETUP } from '../registry/index.js';

const T0 = Date.parse('2025-02-03T00:00:00Z');
const MIN = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();

let api: TestApi;
let key: string;
let otherKey: string;
let pilotId: string;
let devices: { id: string; profile: string }[];
const written: Reading[] = [];

/** The value of reading i of a device: deterministic, exact in binary, so sums are exact. */
const valueAt = (i: number, d: number) => ({ temperature: -10 + ((i * 7 + d) % 80) * 0.25, humidity: 30 + ((i * 3 + d) % 40) * 0.5 });

beforeAll(async () => {
  api = await openTestApi();
  const company = await api.registry.createCompany(SETUP.scope, 'Queries Oy');
  const pilot = await api.registry.createPilot(SETUP.scope, { companyId: company.id, testbedId: 'oulu', name: 'Q' });
  pilotId = pilot.id;
  key = (await api.registry.createCompanyKey(SETUP, company.id)).key;
  otherKey = (await api.registry.createKey(SETUP, { role: 'operator', companyId: null, testbedIds: ['oulu'], readOnly: false, expiresAt: null }, null)).key;
  devices = await Promise.all(
    ['weather', 'weather', 'air-quality'].map(async (profile) => (await api.registry.createDevice(SETUP.scope, pilot.id, { profile })).device),
  );
  // Three hours of readings: the weather devices every 2 minutes, in step (ties), the air-quality one every 5.
  for (let i = 0; i < 90; i++) {
    for (const [d, device] of devices.entries()) {
      if (device.profile === 'air-quality') {
        if (i % 5 === 0)
          written.push({
            deviceId: device.id,
            pilotId,
            companyId: company.id,
            testbedId: 'oulu',
            profile: device.profile,
            time: T0 + i * 2 * MIN,
            values: { pm25: (i % 13) * 0.5, temperature: valueAt(i, d).temperature },
          });
      } else {
        written.push({
          deviceId: device.id,
          pilotId,
          companyId: company.id,
          testbedId: 'oulu',
          profile: device.profile,
          time: T0 + i * 2 * MIN,
          values: valueAt(i, d),
        });
      }
    }
  }
  await api.store.write(written);
});
afterAll(async () => api?.close());

const get = (url: string, k = key) => api.app.inject({ url, headers: bearer(k) });
const byTimeThenDevice = (a: Reading, b: Reading) => a.time - b.time || (a.deviceId < b.deviceId ? -1 : 1);

describe('raw readings with cursors', () => {
  it('pages through a pilot in (time, device) order and ends without next', async () => {
    const rows: { deviceId: string; time: string; values: Record<string, number> }[] = [];
    let url = `/v1/pilots/${pilotId}/readings?limit=7&from=${iso(T0)}`;
    for (let pages = 0; ; pages++) {
      const body = (await get(url)).json();
      rows.push(...body.readings);
      if (!body.next) break;
      expect(body.readings).toHaveLength(7);
      url = `/v1/pilots/${pilotId}/readings?limit=7&from=${iso(T0)}&cursor=${encodeURIComponent(body.next)}`;
      expect(pages).toBeLessThan(100);
    }
    expect(rows).toEqual([...written].sort(byTimeThenDevice).map((r) => ({ deviceId: r.deviceId, time: iso(r.time), values: r.values })));
  });

  it('binds a cursor to its key and its query', async () => {
    const { next } = (await get(`/v1/devices/${devices[0]!.id}/readings?limit=2`)).json();
    expect(next).toEqual(expect.any(String));
    const again = await get(`/v1/devices/${devices[0]!.id}/readings?limit=5&cursor=${encodeURIComponent(next)}`);
    expect(again.statusCode).toBe(200);
    expect(again.json().readings[0].time).toBe(iso(T0 + 4 * MIN));
    const otherKeyAnswer = await get(`/v1/devices/${devices[0]!.id}/readings?limit=2&cursor=${encodeURIComponent(next)}`, otherKey);
    expect(otherKeyAnswer.statusCode).toBe(400);
    expect(otherKeyAnswer.json().error.message).toContain('another API key');
    const otherQuery = await get(`/v1/devices/${devices[1]!.id}/readings?limit=2&cursor=${encodeURIComponent(next)}`);
    expect(otherQuery.json().error.message).toContain('another query');
    const tampered = await get(
      `/v1/devices/${devices[0]!.id}/readings?cursor=${encodeURIComponent(next.replace(/^./, (c: string) => (c === 'e' ? 'f' : 'e')))}`,
    );
    expect(tampered.json().error.message).toContain('not one this server issued');
  });

  it('keeps only chosen measurements, and names the known ones for an unknown one', async () => {
    const body = (await get(`/v1/pilots/${pilotId}/readings?measurements=pm25&limit=100`)).json();
    expect(body.readings.length).toBe(written.filter((r) => 'pm25' in r.values).length);
    expect(body.readings.every((r: { values: object }) => Object.keys(r.values).join() === 'pm25')).toBe(true);
    const unknown = await get(`/v1/pilots/${pilotId}/readings?measurements=pm25,wind`);
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().error.message).toMatch(/Unknown measurement wind; .*humidity/);
  });
});

describe('aggregates', () => {
  /** Computed here from what was written, with no store involved. */
  function expected(fn: string, every: number, from: number, to: number, only?: (r: Reading) => boolean) {
    const groups = new Map<string, Map<string, number[]>>();
    for (const r of [...written].sort((a, b) => a.time - b.time)) {
      if (r.time < from || r.time >= to || (only && !only(r))) continue;
      const k = `${Math.floor(r.time / every) * every}|${r.deviceId}`;
      const g = groups.get(k) ?? new Map<string, number[]>();
      groups.set(k, g);
      for (const [m, v] of Object.entries(r.values)) g.set(m, [...(g.get(m) ?? []), v]);
    }
    const f = (vs: number[]) => {
      const sum = vs.reduce((a, b) => a + b, 0);
      return (
        { mean: sum / vs.length, sum, count: vs.length, min: Math.min(...vs), max: Math.max(...vs), first: vs[0], last: vs.at(-1) } as Record<string, number>
      )[fn];
    };
    // Every measurement here has a resolution of 0.1 in its profile: what aggregates are rounded to (a count is not).
    const round = (v: number) => (fn === 'count' ? v : Number((Math.round(v / 0.1) * 0.1).toFixed(1)));
    return [...groups]
      .map(([k, g]) => ({
        deviceId: k.split('|')[1]!,
        time: iso(Number(k.split('|')[0])),
        values: Object.fromEntries([...g].map(([m, vs]) => [m, round(f(vs)!)])),
      }))
      .sort((a, b) => a.time.localeCompare(b.time) || (a.deviceId < b.deviceId ? -1 : 1));
  }

  it.each(['mean', 'min', 'max', 'sum', 'count', 'first', 'last'])('%s over 15m and 1h windows equals what was written', async (fn) => {
    for (const [every, ms] of [
      ['15m', 15 * MIN],
      ['1h', 60 * MIN],
    ] as const) {
      const body = (await get(`/v1/pilots/${pilotId}/aggregates?from=${iso(T0)}&to=${iso(T0 + 3 * 60 * MIN)}&every=${every}&fn=${fn}`)).json();
      expect(body).toEqual({ every, fn, aggregates: expected(fn, ms, T0, T0 + 180 * MIN) });
    }
  });

  it("widens from and to to whole windows, and aggregates one device's chosen measurement", async () => {
    const d = devices[2]!.id;
    const body = (await get(`/v1/devices/${d}/aggregates?from=${iso(T0 + 7 * MIN)}&to=${iso(T0 + 61 * MIN)}&every=30m&fn=max&measurements=pm25`)).json();
    expect(body.aggregates).toEqual(
      expected('max', 30 * MIN, T0, T0 + 90 * MIN, (r) => r.deviceId === d).map((a) => ({ ...a, values: { pm25: a.values.pm25 } })),
    );
  });

  it('refuses a window too small for the range, naming the limit and what to do', async () => {
    const res = await get(`/v1/pilots/${pilotId}/aggregates?from=2024-01-01T00:00:00Z&to=2025-01-01T00:00:00Z&every=1m`);
    expect(res.statusCode).toBe(400);
    const { error } = res.json();
    expect(error.code).toBe('TESTBED_LIMIT_EXCEEDED');
    expect(error.details).toEqual({ limit: 'maxWindows', value: 10_000 });
    expect(error.message).toMatch(/makes 527040 windows.*every=1h or more.*format=csv/);
    const small = await buildApp({ ...depsOf(api), limits: { maxAggregateRows: 1000 } });
    const rows = await small.inject({
      url: `/v1/pilots/${pilotId}/aggregates?from=2024-01-01T00:00:00Z&to=2024-01-02T00:00:00Z&every=1m`,
      headers: bearer(key),
    });
    await small.close();
    expect(rows.json().error.details).toEqual({ limit: 'maxAggregateRows', value: 1000 });
    expect(rows.json().error.message).toContain('1440 windows for each of 3 devices');
    expect((await get(`/v1/pilots/${pilotId}/aggregates?from=2024-01-01T00:00:00Z&to=2024-01-02T00:00:00Z&every=90x`)).json().error.details[0].field).toBe(
      'every',
    );
  });

  it('stops a query past the longest query time with a 400 that says what to do', async () => {
    const slow = await buildApp({ ...depsOf(api), limits: { maxQueryMs: -1 } });
    try {
      const res = await slow.inject({ url: `/v1/pilots/${pilotId}/aggregates?from=${iso(T0)}&to=${iso(T0 + 180 * MIN)}&every=1h`, headers: bearer(key) });
      // 180 readings fit in one slice of the scan: the deadline is only checked between slices, so write more first.
      expect([200, 400]).toContain(res.statusCode);
      const big = await api.registry.createPilot(SETUP.scope, {
        companyId: (await api.registry.getPilot({ kind: 'all' }, pilotId))!.companyId,
        testbedId: 'oulu',
        name: 'big',
      });
      const dev = (await api.registry.createDevice(SETUP.scope, big.id, { profile: 'weather' })).device;
      await api.store.write(
        Array.from({ length: 5000 }, (_, i) => ({
          deviceId: dev.id,
          pilotId: big.id,
          companyId: big.companyId,
          testbedId: 'oulu',
          profile: 'weather',
          time: T0 + i * 1000,
          values: { temperature: 1 },
        })),
      );
      const stopped = await slow.inject({ url: `/v1/pilots/${big.id}/aggregates?from=${iso(T0)}&to=${iso(T0 + 2 * 60 * MIN)}&every=1m`, headers: bearer(key) });
      expect(stopped.statusCode).toBe(400);
      expect(stopped.json().error).toMatchObject({ code: 'TESTBED_LIMIT_EXCEEDED', details: { limit: 'maxQueryMs' } });
      expect(stopped.json().error.message).toContain('format=csv');
    } finally {
      await slow.close();
    }
  });
});

/** The deps of the shared test API, for a second app over the same registry and store with other limits. */
function depsOf(t: TestApi) {
  return {
    registry: t.registry,
    mqttUrl: MQTT_URL,
    readings: t.store as ReadingStore,
    rejections: t.store,
    profiles: loadCatalogue(),
    log: pino({ level: 'silent' }),
    live: t.live,
    sessions: t.sessions,
  };
}
const loadCatalogue = () => loadProfiles();

describe('latest', () => {
  it('is the newest reading of each device, in JSON and CSV', async () => {
    const body = (await get(`/v1/pilots/${pilotId}/latest`)).json();
    const newest = devices.map((d) => [...written].filter((r) => r.deviceId === d.id).sort((a, b) => b.time - a.time)[0]!);
    expect(body.latest).toEqual(
      newest
        .sort((a, b) => (a.deviceId < b.deviceId ? -1 : 1))
        .map((r) => ({
          deviceId: r.deviceId,
          time: iso(r.time),
          values: r.values,
          times: Object.fromEntries(Object.keys(r.values).map((m) => [m, iso(r.time)])),
        })),
    );
    const csv = await get(`/v1/pilots/${pilotId}/latest?format=csv&measurements=temperature`);
    expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8; header=present');
    expect(parseCsv(csv.body).records.map((r) => r.fields)).toEqual([
      ['time', 'deviceId', 'temperature [°C]', 'suspect'],
      ...body.latest.map((r: { time: string; deviceId: string; values: { temperature: number } }) => [r.time, r.deviceId, String(r.values.temperature), '']),
    ]);
  });
});

describe('exports', () => {
  it('exports a pilot as CSV: a header, one column per measurement, RFC 4180, every row', async () => {
    const res = await get(`/v1/pilots/${pilotId}/readings?format=csv`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-disposition']).toBe(`attachment; filename="${pilotId}-readings.csv"`);
    expect(res.body.endsWith('\r\n')).toBe(true);
    const [header, ...rows] = parseCsv(res.body).records.map((r) => r.fields);
    const named = (id: string) =>
      loadCatalogue()
        .get(id)!
        .profile.measurements.map((m) => [m.name, `${m.name} [${m.unit}]`] as const);
    const columns = new Map([...named('air-quality'), ...named('weather')]);
    expect(header).toEqual(['time', 'deviceId', ...columns.values(), 'suspect', 'stuck', 'gap']);
    const sorted = [...written].sort(byTimeThenDevice);
    expect(rows).toHaveLength(sorted.length);
    rows.forEach((row, i) => {
      const r = sorted[i]!;
      expect(row).toEqual([iso(r.time), r.deviceId, ...[...columns.keys()].map((m) => (r.values[m] === undefined ? '' : String(r.values[m]))), '', '', '']);
    });
  });

  it('exports aggregates as NDJSON, the same rows as the JSON answer', async () => {
    const q = `from=${iso(T0)}&to=${iso(T0 + 180 * MIN)}&every=15m&fn=mean`;
    const json = (await get(`/v1/pilots/${pilotId}/aggregates?${q}`)).json().aggregates;
    const nd = await get(`/v1/pilots/${pilotId}/aggregates?${q}&format=ndjson`);
    expect(nd.headers['content-type']).toBe('application/x-ndjson; charset=utf-8');
    expect(
      nd.body
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toEqual(json);
  });

  it('streams a large export over HTTP, reading the store only as fast as the client reads', async () => {
    const big = await api.registry.createPilot(SETUP.scope, {
      companyId: (await api.registry.getPilot({ kind: 'all' }, pilotId))!.companyId,
      testbedId: 'oulu',
      name: 'export',
    });
    const dev = (await api.registry.createDevice(SETUP.scope, big.id, { profile: 'noise' })).device;
    const N = 120_000;
    for (let from = 0; from < N; from += 20_000) {
      await api.store.write(
        Array.from({ length: 20_000 }, (_, j) => ({
          deviceId: dev.id,
          pilotId: big.id,
          companyId: big.companyId,
          testbedId: 'oulu',
          profile: 'noise',
          time: T0 + (from + j) * 1000,
          values: { laeq: ((from + j) % 400) * 0.25, lamax: 90 },
        })),
      );
    }
    let pages = 0;
    const counting: ReadingStore = Object.create(api.store, {
      queryRaw: { value: (...args: Parameters<ReadingStore['queryRaw']>) => (pages++, api.store.queryRaw(...args)) },
    });
    const server: ApiInstance = await buildApp({ ...depsOf(api), readings: counting });
    const url = `/v1/devices/${dev.id}/readings?format=csv`;
    try {
      // A client that stops reading: the server reads one page ahead of it, not the 24 pages of the whole export.
      const stalled = await server.inject({ url, headers: bearer(ADMIN), payloadAsStream: true });
      const body = stalled.stream();
      await new Promise((resolve) => body.once('readable', resolve));
      await new Promise((r) => setTimeout(r, 200));
      expect(pages).toBeLessThanOrEqual(3);
      body.destroy();

      await server.listen({ port: 0, host: '127.0.0.1' });
      const { port } = server.server.address() as AddressInfo;
      pages = 0;
      const res = await fetch(`http://127.0.0.1:${port}${url}`, { headers: bearer(ADMIN) });
      expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8; header=present');
      const reader = res.body!.getReader();
      const heapBefore = process.memoryUsage().heapUsed;
      let maxHeap = heapBefore;
      let rest = '';
      let row = 0;
      const decoder = new TextDecoder();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          rest += decoder.decode(value, { stream: true });
          const lines = rest.split('\r\n');
          rest = lines.pop()!;
          for (const line of lines) {
            if (line.startsWith('time,')) continue;
            const i = row++;
            if (line !== `${iso(T0 + i * 1000)},${dev.id},${(i % 400) * 0.25},90,,,`)
              expect(line, `row ${i}`).toBe(`${iso(T0 + i * 1000)},${dev.id},${(i % 400) * 0.25},90,,,`);
          }
          maxHeap = Math.max(maxHeap, process.memoryUsage().heapUsed);
        }
      } finally {
        await reader.cancel().catch(() => undefined);
      }
      expect(row).toBe(N);
      expect(pages).toBe(Math.ceil(N / 5000) + 1);
      // The page counts above show the streaming. The heap is a coarse guard only: heapUsed
      // includes garbage not yet collected, which varies with GC timing (a fresh clone saw
      // 42 MB once), so the bound leaves room for it.
      expect(maxHeap - heapBefore).toBeLessThan(64 * 1024 * 1024);
    } finally {
      await server.close();
    }
  }, 60_000);
});
