import { createPublicKey, verify } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../core/log.js';
import { SETUP_CALLER as SETUP } from '../registry/index.js';
import { InfluxStore } from '../store/influx/store.js';
import type { Reading, ReadingStore } from '../store/index.js';
import { bearer, openTestApi, ADMIN, type TestApi } from './helpers/api.js';
import { startInfluxd, type Influxd } from './helpers/influxd.js';
import { tempDir } from './helpers/tmp.js';

const T0 = Date.parse('2025-09-01T00:00:00Z');
const log = createLogger(process.env.TESTBED_TEST_LOG ?? 'silent');

let influxd: Influxd;
beforeAll(async () => {
  influxd = await startInfluxd();
}, 30_000);
afterAll(async () => influxd?.stop());

interface Scenario {
  api: TestApi;
  readings: ReadingStore;
  pilot: { id: string; name: string };
  other: { id: string };
  companyKey: string;
  devices: { id: string; username: string; password: string }[];
  published: Map<string, number>;
}

/** Two companies' pilots in one store: A's with three devices, readings, a rejection and an export; B's untouched. */
async function scenario(readings?: ReadingStore): Promise<Scenario> {
  const api = await openTestApi(readings ? { readings } : {});
  const store = readings ?? api.store;
  const a = await api.registry.createCompany(SETUP.scope, 'Erase Oy');
  const b = await api.registry.createCompany(SETUP.scope, 'Keep Ab');
  const pilot = await api.registry.createPilot(SETUP.scope, { companyId: a.id, testbedId: 'espoo', name: 'People counts, Leppävaara' });
  const other = await api.registry.createPilot(SETUP.scope, { companyId: b.id, testbedId: 'espoo', name: 'Other' });
  const devices: { id: string; username: string; password: string }[] = [];
  for (const i of [0, 1, 2]) {
    const made = await api.registry.createDevice(SETUP.scope, pilot.id, { profile: 'people-counter', name: `door ${i}` });
    devices.push({ id: made.device.id, username: made.device.username, password: made.password });
  }
  await api.registry.updateDevice(SETUP.scope, devices[0]!.id, { location: { type: 'Point', coordinates: [24.81, 60.22] }, placement: 'door frame' });
  const keep = (await api.registry.createDevice(SETUP.scope, other.id, { profile: 'people-counter' })).device;
  const published = new Map<string, number>();
  const rows: Reading[] = [];
  for (const [d, device] of devices.entries()) {
    for (let i = 0; i < 1500 + d * 500; i++)
      rows.push({
        deviceId: device.id,
        pilotId: pilot.id,
        companyId: a.id,
        testbedId: 'espoo',
        profile: 'people-counter',
        time: T0 + i * 60_000,
        values: { people_in: i % 7, people_out: i % 5 },
      });
    published.set(device.id, 1500 + d * 500);
  }
  for (let i = 0; i < 800; i++)
    rows.push({
      deviceId: keep.id,
      pilotId: other.id,
      companyId: b.id,
      testbedId: 'espoo',
      profile: 'people-counter',
      time: T0 + i * 60_000,
      values: { people_in: 1 },
    });
  for (let i = 0; i < rows.length; i += 1000) await store.write(rows.slice(i, i + 1000));
  await api.store.writeRejections([
    {
      deviceId: devices[1]!.id,
      pilotId: pilot.id,
      companyId: a.id,
      testbedId: 'espoo',
      time: T0,
      code: 'TESTBED_READING_NOT_JSON',
      reason: 'x',
      payload: 'x',
      payloadEncoding: 'utf8',
      payloadBytes: 1,
      key: `r-${pilot.id}`,
    },
  ]);
  const companyKey = (await api.registry.createCompanyKey(SETUP, a.id)).key;
  return { api, readings: store, pilot, other, companyKey, devices, published };
}

const post = (s: Scenario, url: string, key: string, body?: object) =>
  s.api.app.inject({ method: 'POST', url, headers: bearer(key), ...(body ? { payload: body } : {}) });

async function untilDone(s: Scenario, pilotId: string) {
  for (;;) {
    const erasure = (await s.api.app.inject({ url: `/v1/pilots/${pilotId}/erasure`, headers: bearer(ADMIN) })).json();
    if (erasure.state === 'done') return erasure as { receiptId: string };
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Verifies a compact JWS with nothing but the published JWK and node:crypto. */
function verifiesWith(jwk: object, jws: string): boolean {
  const [header, payload, signature] = jws.split('.') as [string, string, string];
  return verify(null, Buffer.from(`${header}.${payload}`), createPublicKey({ key: jwk as never, format: 'jwk' }), Buffer.from(signature, 'base64url'));
}

/** The same with the openssl command line: the JWK's `x` is the raw Ed25519 key, wrapped here in its SubjectPublicKeyInfo (RFC 8410). */
function opensslVerifies(jwk: { x: string }, jws: string): boolean {
  const dir = tempDir('testbed-openssl-');
  try {
    const [header, payload, signature] = jws.split('.') as [string, string, string];
    const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(jwk.x, 'base64url')]);
    fs.writeFileSync(path.join(dir.dir, 'key.der'), spki);
    fs.writeFileSync(path.join(dir.dir, 'signed'), `${header}.${payload}`);
    fs.writeFileSync(path.join(dir.dir, 'sig'), Buffer.from(signature, 'base64url'));
    const args = ['pkeyutl', '-verify', '-pubin', '-keyform', 'DER', '-inkey', 'key.der', '-rawin', '-in', 'signed', '-sigfile', 'sig'];
    try {
      return execFileSync('openssl', args, { cwd: dir.dir, encoding: 'utf8' }).includes('Signature Verified Successfully');
    } catch {
      return false;
    }
  } finally {
    dir.remove();
  }
}

async function eraseAndCheck(s: Scenario, influx?: { query: (q: string) => Promise<unknown>; db: string }) {
  const { api, pilot } = s;
  const exported = (await post(s, `/v1/pilots/${pilot.id}/exports`, s.companyKey)).json();
  await api.lifecycle.settled();
  const bundle = (await api.registry.getExport(SETUP.scope, exported.id))!;
  expect(bundle).toMatchObject({ state: 'done', readingsWritten: 6000, readingsTotal: 6000 });

  expect((await post(s, `/v1/pilots/${pilot.id}/erase`, s.companyKey, { confirm: pilot.name })).json().error.code).toBe('TESTBED_PILOT_NOT_ENDED');
  expect((await post(s, `/v1/pilots/${pilot.id}/erase`, s.companyKey, { confirm: pilot.name, force: true })).statusCode).toBe(403);
  expect((await post(s, `/v1/pilots/${pilot.id}/end`, s.companyKey)).statusCode).toBe(200);
  expect((await post(s, `/v1/pilots/${pilot.id}/erase`, s.companyKey, { confirm: 'people counts' })).json().error.code).toBe('TESTBED_ERASE_NOT_CONFIRMED');
  const started = await post(s, `/v1/pilots/${pilot.id}/erase`, s.companyKey, { confirm: pilot.name });
  expect(started.statusCode).toBe(202);
  const { receiptId } = await untilDone(s, pilot.id);
  expect(receiptId).toBe(started.json().receiptId);

  // Nothing of the pilot is left: in the store, through the API, in the registry, on disk.
  expect(await s.readings.countReadings(SETUP.scope, { pilotId: pilot.id })).toEqual({});
  if (influx) {
    const points = (await influx.query(`SELECT count(*) FROM "readings" WHERE "pilot" = '${pilot.id}'`)) as { results: { series?: unknown[] }[] };
    expect(points.results[0]!.series ?? []).toEqual([]);
    const series = (await influx.query(`SHOW SERIES FROM "readings" WHERE "pilot" = '${pilot.id}'`)) as { results: { series?: unknown[] }[] };
    expect(series.results[0]!.series ?? []).toEqual([]);
  }
  expect((await api.app.inject({ url: `/v1/pilots/${pilot.id}/readings`, headers: bearer(s.companyKey) })).json().readings).toEqual([]);
  expect((await api.app.inject({ url: `/v1/devices/${s.devices[1]!.id}/rejections`, headers: bearer(s.companyKey) })).json().rejections).toEqual([]);
  for (const d of s.devices) expect(await api.registry.authenticateDevice(d.username, Buffer.from(d.password))).toBeUndefined();
  expect((await api.app.inject({ url: `/v1/devices/${s.devices[0]!.id}/locations`, headers: bearer(s.companyKey) })).json().locations).toEqual([]);
  expect((await api.app.inject({ url: `/v1/exports/${bundle.id}/download`, headers: bearer(s.companyKey) })).json().error.code).toBe(
    'TESTBED_EXPORT_NOT_READY',
  );
  // The pilot record stays, and the other company's data is untouched.
  expect((await api.app.inject({ url: `/v1/pilots/${pilot.id}`, headers: bearer(s.companyKey) })).statusCode).toBe(200);
  expect(Object.values(await s.readings.countReadings(SETUP.scope, { pilotId: s.other.id }))).toEqual([800]);

  // The receipt verifies with only the published key, and says what went.
  const jwk = (await api.app.inject({ url: '/.well-known/testbed-receipt-key' })).json();
  const answer = (await api.app.inject({ url: `/v1/receipts/${receiptId}`, headers: bearer(s.companyKey) })).json();
  expect(verifiesWith(jwk, answer.jws)).toBe(true);
  expect(opensslVerifies(jwk, answer.jws)).toBe(true);
  const [h, p, sig] = answer.jws.split('.');
  const forged = Buffer.from(JSON.stringify({ ...answer.receipt, forced: true })).toString('base64url');
  expect(verifiesWith(jwk, `${h}.${forged}.${sig}`)).toBe(false);
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
  expect(claims).toEqual(answer.receipt);
  expect(claims.pilot).toMatchObject({ id: pilot.id, name: pilot.name });
  expect(claims.erased.readings).toMatchObject({ store: s.readings.kind, total: 6000, perDevice: Object.fromEntries(s.published) });
  expect(claims.erased.readings.timeRange).toEqual({ from: new Date(T0).toISOString(), to: new Date(T0 + 2499 * 60_000).toISOString() });
  expect(claims.erased.rejections.total).toBe(1);
  expect(claims.erased.registry).toMatchObject({ credentials: 3, locations: 1 });
  expect(claims.checks.length).toBeGreaterThanOrEqual(4);
  expect(claims.checks.every((c: { result: number }) => c.result === 0)).toBe(true);
  expect(claims.lastExport.sha256).toBe(bundle.sha256);

  // Idempotent: asking again reports the same erasure and receipt.
  const again = await post(s, `/v1/pilots/${pilot.id}/erase`, s.companyKey, { confirm: pilot.name });
  expect(again.json()).toMatchObject({ state: 'done', receiptId });
  // Another company sees neither the erasure nor the receipt.
  const otherKey = (await api.registry.createCompanyKey(SETUP, (await api.registry.createCompany(SETUP.scope, 'Nosy Oy')).id)).key;
  expect((await api.app.inject({ url: `/v1/receipts/${receiptId}`, headers: bearer(otherKey) })).statusCode).toBe(404);
}

describe('erasure with a signed receipt', () => {
  it('on the embedded store', async () => {
    const s = await scenario();
    try {
      await eraseAndCheck(s);
      expect(await s.api.store.checkErased(s.pilot.id)).toEqual(expect.arrayContaining([expect.objectContaining({ result: 0 })]));
      // An admin may force the erasure of a pilot still running: it is ended first, then erased.
      const forced = await post(s, `/v1/pilots/${s.other.id}/erase`, ADMIN, { confirm: 'Other', force: true });
      expect(forced.statusCode).toBe(202);
      await untilDone(s, s.other.id);
      expect((await s.api.registry.getPilot(SETUP.scope, s.other.id))!.endedAt).not.toBeNull();
      expect(await s.readings.countReadings(SETUP.scope, { pilotId: s.other.id })).toEqual({});
    } finally {
      await s.api.close();
    }
  }, 30_000);

  it('on a real InfluxDB 1.x: queried directly, it holds no point and no series of the pilot', async () => {
    const influx = await InfluxStore.open({ url: influxd.url, token: undefined, bucket: 'erase', org: undefined }, log);
    const s = await scenario(influx);
    try {
      await eraseAndCheck(s, { query: (q) => influxd.query(q, { db: 'erase' }), db: 'erase' });
    } finally {
      await s.api.close();
      await influx.close();
    }
  }, 60_000);
});
