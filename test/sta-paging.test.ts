import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Scope } from '../core/index.js';
import { loadProfiles } from '../device-profiles/index.js';
import { Registry, SETUP_CALLER as SETUP } from '../registry/index.js';
import { SensorThings, STA_LIMITS } from '../sensorthings/index.js';
import { EmbeddedStore } from '../store/embedded/store.js';
import type { Reading } from '../store/types.js';
import { tempDir } from './helpers/tmp.js';

/*
 * Paging SensorThings collections that span many pilots, over a real registry
 * and embedded store: Things cut by the registry's query and continued by
 * $skiptoken, Observations of several pilots merged in time order, also when
 * the sort cap and the scan cap are small. The expected answers are worked
 * out here from what was written, not by the code under test.
 */
const T0 = Date.parse('2025-03-01T00:00:00Z');
const BASE = 'http://test/sta/v1.1';
const tmp = tempDir('testbed-sta-paging-');
let registry: Registry;
let store: EmbeddedStore;
const openDevices: string[] = [];
const expectedObservations: string[] = [];

beforeAll(async () => {
  registry = await Registry.open(tmp.dir, undefined);
  store = await EmbeddedStore.open(tmp.dir);
  const company = await registry.createCompany(SETUP.scope, 'Paging Oy');
  const readings: Reading[] = [];
  for (let p = 0; p < 4; p++) {
    const open = p < 3;
    const pilot = await registry.createPilot(SETUP.scope, { companyId: company.id, testbedId: 'espoo', name: `P${p}`, sharing: open ? 'open' : 'private' });
    for (let d = 0; d < 2; d++) {
      const deviceId = (await registry.createDevice(SETUP.scope, pilot.id, { profile: 'weather' })).device.id;
      if (open) openDevices.push(deviceId);
      // Pilots write at interleaved times, so a page spans pilots.
      for (let i = 0; i < 5; i++) {
        const time = T0 + i * 60_000 + p * 1000;
        readings.push({
          deviceId,
          pilotId: pilot.id,
          companyId: company.id,
          testbedId: 'espoo',
          profile: 'weather',
          time,
          values: { humidity: 50, temperature: i },
        });
        if (open) for (const m of ['humidity', 'temperature']) expectedObservations.push(`${deviceId}~${m}~${time}`);
      }
    }
  }
  await store.write(readings);
  openDevices.sort();
  // (time, device, measurement) order: ids are device~measurement~time.
  const key = (id: string) => {
    const [device, m, t] = id.split('~') as [string, string, string];
    return [Number(t), device, m] as const;
  };
  expectedObservations.sort((a, b) => {
    const [ta, da, ma] = key(a);
    const [tb, db, mb] = key(b);
    return ta - tb || (da < db ? -1 : da > db ? 1 : ma < mb ? -1 : ma > mb ? 1 : 0);
  });
});
afterAll(async () => {
  await store?.close();
  await registry?.close();
  tmp.remove();
});

/** Every page from `first` by @iot.nextLink: the ids in order, the pages, and the first page's count. */
async function follow(sta: SensorThings, scope: Scope, first: string) {
  const ids: string[] = [];
  const links: string[] = [];
  let count: unknown;
  for (let url: string | undefined = first; url;) {
    const [path = '', query = ''] = url.slice(BASE.length).split('?', 2);
    const answer = await sta.answer({ scope, path, query: new URLSearchParams(query), base: BASE });
    const json = (answer as { json: { value: { '@iot.id': string }[]; '@iot.nextLink'?: string; '@iot.count'?: number } }).json;
    if (count === undefined) count = json['@iot.count'];
    ids.push(...json.value.map((v) => v['@iot.id']));
    url = json['@iot.nextLink'];
    if (url) links.push(url);
  }
  return { ids, links, count };
}

describe('SensorThings paging across pilots', () => {
  const anonymous = async () => (await registry.anonymousCaller()).scope;

  it('pages Things without a filter in id order by $skiptoken, counted, with $skip honoured', async () => {
    const sta = new SensorThings({ registry, readings: store, profiles: loadProfiles(), maxQueryMs: 30_000 });
    const all = await follow(sta, await anonymous(), `${BASE}/Things?$top=4&$count=true`);
    expect(all.ids).toEqual(openDevices);
    expect(all.count).toBe(6);
    expect(all.links).toHaveLength(1);
    expect(all.links[0]).toContain('%24skiptoken=');
    expect((await follow(sta, await anonymous(), `${BASE}/Things?$top=2&$skip=3`)).ids).toEqual(openDevices.slice(3));
    // A filter goes the general way and agrees.
    expect((await follow(sta, await anonymous(), `${BASE}/Things?$top=4&$filter=properties/testbedId eq 'espoo'`)).ids).toEqual(openDevices);
    await expect(
      sta.answer({ scope: await anonymous(), path: '/Things', query: new URLSearchParams('$skiptoken=nonsense'), base: BASE }),
    ).rejects.toMatchObject({
      code: 'TESTBED_STA_BAD_QUERY',
    });
  });

  it('pages the Observations of several pilots in time order to the end, past a small sort cap', async () => {
    const sta = new SensorThings({
      registry,
      readings: store,
      profiles: loadProfiles(),
      maxQueryMs: 30_000,
      limits: { ...STA_LIMITS, maxSortObservations: 10 },
    });
    const pages = await follow(sta, await anonymous(), `${BASE}/Observations?$top=7`);
    expect(pages.ids).toEqual(expectedObservations);
    expect(pages.links).toHaveLength(Math.ceil(expectedObservations.length / 7) - 1);
  });

  it('pages newest first to the end without sorting the whole range, past a small sort cap', async () => {
    const sta = new SensorThings({
      registry,
      readings: store,
      profiles: loadProfiles(),
      maxQueryMs: 30_000,
      limits: { ...STA_LIMITS, maxSortObservations: 10 },
    });
    const time = (id: string) => Number(id.split('~')[2]);
    // Newest first; at one instant in id order, as the (time, device, measurement) order already has them.
    const newestFirst = [...expectedObservations].sort((a, b) => time(b) - time(a));
    const pages = await follow(sta, await anonymous(), `${BASE}/Observations?$orderby=phenomenonTime desc&$top=7`);
    expect(pages.ids).toEqual(newestFirst);
    const one = await follow(
      sta,
      await anonymous(),
      `${BASE}/Datastreams('${openDevices[0]}~temperature')/Observations?$orderby=phenomenonTime desc&$top=2&$filter=phenomenonTime lt 2025-03-01T00:04:00Z`,
    );
    const cutoff = Date.parse('2025-03-01T00:04:00Z');
    const ds = `${openDevices[0]}~temperature~`;
    expect(one.ids).toEqual(expectedObservations.filter((id) => id.startsWith(ds) && time(id) < cutoff).reverse());
    expect(one.ids).toHaveLength(4);
  });

  it('a page that reaches the scan cap ends early with a nextLink that continues exactly', async () => {
    const sta = new SensorThings({
      registry,
      readings: store,
      profiles: loadProfiles(),
      maxQueryMs: 30_000,
      limits: { ...STA_LIMITS, maxScanRows: 3, batchRows: 2 },
    });
    const pages = await follow(sta, await anonymous(), `${BASE}/Observations?$top=50&$filter=result ge 0`);
    expect(pages.ids).toEqual(expectedObservations);
  });

  it('the admin sees the private pilot too; nothing of it reaches the anonymous pages', async () => {
    const sta = new SensorThings({ registry, readings: store, profiles: loadProfiles(), maxQueryMs: 30_000 });
    const admin = await follow(sta, SETUP.scope, `${BASE}/Observations?$top=13`);
    expect(admin.ids).toHaveLength(8 * 5 * 2);
    expect(admin.ids.filter((id) => openDevices.includes(id.split('~')[0] as string))).toEqual(expectedObservations);
  });
});
