import { HttpError } from '@influxdata/influxdb-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../core/log.js';
import { describeServer } from '../store/influx/server.js';
import { InfluxStore } from '../store/influx/store.js';
import { toV1Path } from '../store/influx/transport-v1.js';
import { classifyWriteError, retryAfterMs } from '../store/influx/write-errors.js';
import { StoreWriteError } from '../store/types.js';
import { startInfluxd, type Influxd } from './helpers/influxd.js';
import { T0, describeStoreContract, freshId, reading } from './store-contract.js';
import { readDevice } from './helpers/readings.js';

const log = createLogger(process.env.TESTBED_TEST_LOG ?? 'silent');
const ADMIN = { username: 'admin', password: 'admin-secret' };
const token = `${ADMIN.username}:${ADMIN.password}`;

// One real influxd (with auth on, so the u/p path is what gets exercised) for the file.
let influxd: Influxd;
beforeAll(async () => {
  influxd = await startInfluxd({ auth: ADMIN });
});
afterAll(async () => {
  await influxd?.stop();
});

describeStoreContract('influx (a real influxd 1.x)', async () => {
  const store = await InfluxStore.open({ url: influxd.url, token, bucket: 'contract', org: undefined }, log);
  return { store, close: () => store.close() };
});

type Json = { results: { series?: { columns: string[]; values: unknown[][] }[]; error?: string }[] };
const rowsOf = (body: unknown) => {
  const series = (body as Json).results[0]?.series?.[0];
  return series ? series.values.map((v) => Object.fromEntries(series.columns.map((c, i) => [c, v[i]]))) : [];
};

describe('InfluxStore against a real influxd', () => {
  let store: InfluxStore;
  beforeAll(async () => {
    store = await InfluxStore.open({ url: influxd.url, token, bucket: 'influx', org: undefined }, log);
  });
  afterAll(async () => {
    await store?.close();
  });

  it('detects InfluxDB 1.x and creates the database at open', async () => {
    expect(store.serverVersion).toMatch(/^1\./);
    const dbs = rowsOf(await influxd.query('SHOW DATABASES')).map((r) => r.name);
    expect(dbs).toContain('influx');
  });

  it('stores points InfluxDB itself sees: tags as tags, values as float fields, ms times', async () => {
    const d = freshId('raw');
    await store.write([
      reading(d, T0 + 42, { pm2_5: 5, temperature: -1.5 }, { pilotId: 'pi_raw', testbedId: 'tampere', profile: 'weather', deviceName: 'Raw one' }),
    ]);
    const tagKeys = rowsOf(await influxd.query('SHOW TAG KEYS FROM "readings"', { db: 'influx' })).map((r) => r.tagKey);
    // The name is a tag for dashboards' legends; reads go by the device id (test/store.influx-names.test.ts).
    expect(tagKeys).toEqual(['company', 'device', 'device_name', 'pilot', 'profile', 'testbed']);
    const fields = rowsOf(await influxd.query('SHOW FIELD KEYS FROM "readings"', { db: 'influx' }));
    expect(fields).toEqual(
      expect.arrayContaining([
        { fieldKey: 'pm2_5', fieldType: 'float' },
        { fieldKey: 'temperature', fieldType: 'float' },
      ]),
    );
    const rows = rowsOf(await influxd.query(`SELECT * FROM "readings" WHERE "device" = '${d}' GROUP BY *`, { db: 'influx' }));
    expect(rows).toEqual([{ time: T0 + 42, pm2_5: 5, temperature: -1.5 }]);
    const tagged = rowsOf(await influxd.query(`SHOW SERIES FROM "readings" WHERE "device" = '${d}'`, { db: 'influx' }));
    expect(tagged).toEqual([{ key: `readings,company=co_a,device=${d},device_name=Raw\\ one,pilot=pi_raw,profile=weather,testbed=tampere` }]);
  });

  it('keeps a forged tag inside the device id in InfluxDB itself', async () => {
    const forged = `${freshId('forge')},company=co_b`;
    await store.write([reading(forged, T0, { v: 1 }, { companyId: 'co_a' })]);
    const rows = rowsOf(await influxd.query(`SELECT "v", "company", "device" FROM "readings" WHERE "device" = '${forged}'`, { db: 'influx' }));
    expect(rows).toEqual([{ time: T0, v: 1, company: 'co_a', device: forged }]);
  });

  it('refuses exactly the readings InfluxDB refuses and stores the rest (field type conflict)', async () => {
    // An integer field `level` in this shard: a float `level` now conflicts with it.
    const setup = freshId('int-field');
    await fetch(`${influxd.url}/write?db=influx&precision=ms&u=${ADMIN.username}&p=${ADMIN.password}`, {
      method: 'POST',
      body: `readings,device=${setup} level=1i ${T0}`,
    });
    const d = freshId('partial');
    const batch = Array.from({ length: 13 }, (_, i) => reading(d, T0 + i * 1000, i === 3 || i === 11 ? { level: 2.5, other: i } : { other: i }));
    const result = await store.write(batch);
    expect(result.refused.map((r) => r.index)).toEqual([3, 11]);
    for (const r of result.refused) expect(r.reason).toMatch(/field type conflict.*level/);
    const stored = await readDevice(store, d, { limit: 100 }, { kind: 'all' });
    expect(stored.map((r) => r.values.other)).toEqual([0, 1, 2, 4, 5, 6, 7, 8, 9, 10, 12]);
  });

  it('keeps concurrent writes apart: each gets its own outcome', async () => {
    const setup = freshId('int-field-2');
    await fetch(`${influxd.url}/write?db=influx&precision=ms&u=${ADMIN.username}&p=${ADMIN.password}`, {
      method: 'POST',
      body: `readings,device=${setup} gauge=1i ${T0}`,
    });
    const [a, b, c] = [freshId('conc-a'), freshId('conc-b'), freshId('conc-c')];
    const results = await Promise.all([
      store.write(Array.from({ length: 50 }, (_, i) => reading(a, T0 + i, i === 7 ? { gauge: 0.5 } : { v: i }))),
      store.write(Array.from({ length: 50 }, (_, i) => reading(b, T0 + i, { v: i }))),
      store.write(Array.from({ length: 50 }, (_, i) => reading(c, T0 + i, i === 40 ? { gauge: 0.5 } : { v: i }))),
    ]);
    expect(results.map((r) => r.refused.map((x) => x.index))).toEqual([[7], [], [40]]);
    for (const [d, count] of [
      [a, 49],
      [b, 50],
      [c, 49],
    ] as const) {
      expect(await readDevice(store, d, { limit: 100 }, { kind: 'all' })).toHaveLength(count);
    }
  });

  it('refuses points beyond the retention policy named in the bucket', async () => {
    await influxd.query('CREATE RETENTION POLICY "short" ON "influx" DURATION 1h REPLICATION 1', { method: 'POST' });
    const short = await InfluxStore.open({ url: influxd.url, token, bucket: 'influx/short', org: undefined }, log);
    try {
      const d = freshId('retention');
      const now = Date.now();
      const result = await short.write([reading(d, now - 1000, { v: 1 }), reading(d, now - 3 * 3_600_000, { v: 2 }), reading(d, now, { v: 3 })]);
      expect(result.refused).toEqual([{ index: 1, reason: expect.stringMatching(/beyond retention policy/) }]);
      expect(await readDevice(short, d, { limit: 10 }, { kind: 'all' })).toEqual([
        { time: now - 1000, values: { v: 1 } },
        { time: now, values: { v: 3 } },
      ]);
      // The default retention policy of the same database does not hold them.
      expect(await readDevice(store, d, { limit: 10 }, { kind: 'all' })).toEqual([]);
    } finally {
      await short.close();
    }
  });

  it('refuses a reading whose id line protocol cannot carry exactly, without sending it', async () => {
    const d = freshId('fine');
    const result = await store.write([
      reading(d, T0, { v: 1 }),
      reading('ends-in-backslash\\', T0, { v: 2 }),
      reading(d, T0 + 1, { v: 3 }),
      reading('two\nlines', T0, { v: 4 }),
    ]);
    expect(result.refused).toEqual([
      { index: 1, reason: expect.stringMatching(/device tag .* cannot be stored exactly/) },
      { index: 3, reason: expect.stringMatching(/device tag .* cannot be stored exactly/) },
    ]);
    expect((await readDevice(store, d, { limit: 10 }, { kind: 'all' })).map((r) => r.values.v)).toEqual([1, 3]);
  });

  it('writes as a user who may write but not create databases', async () => {
    await influxd.query(`CREATE USER "writer" WITH PASSWORD 'w-secret'`, { method: 'POST' });
    await influxd.query('GRANT ALL ON "influx" TO "writer"', { method: 'POST' });
    const limited = await InfluxStore.open({ url: influxd.url, token: 'writer:w-secret', bucket: 'influx', org: undefined }, log);
    try {
      const d = freshId('writer');
      expect(await limited.write([reading(d, T0, { v: 1 })])).toEqual({ refused: [] });
      expect(await readDevice(limited, d, { limit: 10 }, { kind: 'all' })).toEqual([{ time: T0, values: { v: 1 } }]);
    } finally {
      await limited.close();
    }
  });

  it('fails to open with a clear error when the credentials are wrong', async () => {
    await expect(InfluxStore.open({ url: influxd.url, token: 'admin:wrong', bucket: 'influx', org: undefined }, log)).rejects.toThrow(
      /could not create InfluxDB database influx: .*401/,
    );
  });
});

describe('InfluxStore when influxd goes away', () => {
  let server: Influxd;
  let store: InfluxStore;
  beforeAll(async () => {
    server = await startInfluxd();
    store = await InfluxStore.open({ url: server.url, token: undefined, bucket: 'outage', org: undefined }, log);
  });
  afterAll(async () => {
    await store?.close();
    await server?.stop();
  });

  it('throws a retryable StoreWriteError while it is down, and writes again once it is back', async () => {
    const d = freshId('outage');
    await store.write([reading(d, T0, { v: 1 })]);
    await server.kill();
    expect(await store.ping()).toBe(false);
    const failed = await store.write([reading(d, T0 + 1, { v: 2 })]).catch((err: unknown) => err);
    expect(failed).toBeInstanceOf(StoreWriteError);
    expect((failed as StoreWriteError).retryable).toBe(true);
    await expect(readDevice(store, d, { limit: 10 }, { kind: 'all' })).rejects.toMatchObject({ code: 'TESTBED_STORE_UNAVAILABLE' });

    await server.restart();
    expect(await store.ping()).toBe(true);
    expect(await store.write([reading(d, T0 + 1, { v: 2 })])).toEqual({ refused: [] });
    expect(await readDevice(store, d, { limit: 10 }, { kind: 'all' })).toEqual([
      { time: T0, values: { v: 1 } },
      { time: T0 + 1, values: { v: 2 } },
    ]);
  });

  it('keeps what it acknowledged through a crash (SIGKILL) and restart', async () => {
    const d = freshId('crash');
    await store.write(Array.from({ length: 100 }, (_, i) => reading(d, T0 + i, { v: i })));
    await server.kill('SIGKILL');
    await server.restart();
    expect(await readDevice(store, d, { limit: 1000 }, { kind: 'all' })).toHaveLength(100);
  });

  it('reports a paused (hung) server as not answering', async () => {
    await server.pause();
    try {
      expect(await store.ping()).toBe(false);
    } finally {
      server.resume();
    }
    expect(await store.ping()).toBe(true);
  });
});

describe('InfluxDB write errors and paths (no server: HttpErrors built by hand for statuses influxd 1.x cannot be made to answer)', () => {
  const httpError = (status: number, body: string, headers: Record<string, string> = {}) =>
    new HttpError(status, 'status', body, headers['retry-after'], 'application/json', undefined, headers);

  it("halves the batch on 400, 413 and 422, with the server's reason", () => {
    expect(classifyWriteError(httpError(400, '{"error":"partial write: field type conflict"}'))).toEqual({
      kind: 'lines',
      reason: 'partial write: field type conflict',
    });
    expect(classifyWriteError(httpError(413, '{"error":"Request Entity Too Large"}'))).toMatchObject({ kind: 'lines' });
    expect(classifyWriteError(httpError(422, '{"code":"unprocessable entity","message":"failure writing points"}'))).toEqual({
      kind: 'lines',
      reason: 'failure writing points',
    });
  });

  it('retries 429 and 503 after Retry-After (seconds, RFC 9110), not 401 or 403', () => {
    const c429 = classifyWriteError(httpError(429, '{"message":"slow down"}', { 'retry-after': '7' }));
    expect(c429).toMatchObject({ kind: 'batch', error: { retryable: true, retryAfterMs: 7000 } });
    expect(classifyWriteError(httpError(503, '{"error":"overloaded"}'))).toMatchObject({ kind: 'batch', error: { retryable: true, retryAfterMs: undefined } });
    expect(classifyWriteError(httpError(500, '{"error":"engine: cache-max-memory-size exceeded"}'))).toMatchObject({
      kind: 'batch',
      error: { retryable: true },
    });
    expect(classifyWriteError(httpError(401, '{"error":"authorization failed"}'))).toMatchObject({ kind: 'batch', error: { retryable: false } });
    expect(classifyWriteError(httpError(403, '{"error":"forbidden"}'))).toMatchObject({ kind: 'batch', error: { retryable: false } });
    expect(classifyWriteError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toMatchObject({
      kind: 'batch',
      error: { retryable: true },
    });
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    const now = Date.UTC(2025, 0, 1);
    expect(retryAfterMs({ 'retry-after': '2' }, now)).toBe(2000);
    expect(retryAfterMs({ 'retry-after': new Date(now + 30_000).toUTCString() }, now)).toBe(30_000);
    expect(retryAfterMs({ 'retry-after': 'soon' }, now)).toBeUndefined();
    expect(retryAfterMs({}, now)).toBeUndefined();
  });

  it('rewrites the 2.x write path to 1.x /write with db, rp, precision and u/p', () => {
    const server = describeServer({ url: 'http://influx:8086/', token: 'user:pa:ss&=', bucket: 'telemetry/one_year', org: undefined });
    const path = toV1Path('/api/v2/write?org=&bucket=telemetry%2Fone_year&precision=ms', server);
    expect(path.startsWith('/write?')).toBe(true);
    expect(Object.fromEntries(new URLSearchParams(path.slice('/write?'.length)))).toEqual({
      db: 'telemetry',
      rp: 'one_year',
      precision: 'ms',
      u: 'user',
      p: 'pa:ss&=',
    });
    expect(toV1Path('/api/v2/query?org=x', server)).toBe('/api/v2/query?org=x');
  });
});
