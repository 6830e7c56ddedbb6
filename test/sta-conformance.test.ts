import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SETUP_CALLER as SETUP } from '../registry/index.js';
import { CONFORMANCE } from '../sensorthings/index.js';
import { openTestApi, type TestApi } from './helpers/api.js';

/*
 * The read-only conformance classes the landing page claims (OGC 18-088
 * Annex A: A.1 sensing core, A.2 filtering extension), checked the way the
 * published test suite checks them, as far as they apply to a read-only
 * service: every entity set and entity answers with @iot.id, @iot.selfLink,
 * its mandatory properties and navigation links; properties and $value;
 * resource paths through navigation, with keys and as association links
 * ($ref); a missing id is 404; and the query options together.
 */
const T0 = Date.parse('2025-02-01T00:00:00Z');
let api: TestApi;
let root: string;
let device = '';

/** Mandatory properties and navigation properties of each entity type (OGC 18-088 8.2). */
const MODEL: Record<string, { props: string[]; links: string[] }> = {
  Things: { props: ['name', 'description'], links: ['Datastreams', 'HistoricalLocations', 'Locations'] },
  Locations: { props: ['name', 'description', 'encodingType', 'location'], links: ['HistoricalLocations', 'Things'] },
  HistoricalLocations: { props: ['time'], links: ['Thing', 'Locations'] },
  Datastreams: { props: ['name', 'description', 'unitOfMeasurement', 'observationType'], links: ['Thing', 'Sensor', 'ObservedProperty', 'Observations'] },
  Sensors: { props: ['name', 'description', 'encodingType', 'metadata'], links: ['Datastreams'] },
  ObservedProperties: { props: ['name', 'definition', 'description'], links: ['Datastreams'] },
  Observations: { props: ['phenomenonTime', 'result', 'resultTime'], links: ['Datastream', 'FeatureOfInterest'] },
  FeaturesOfInterest: { props: ['name', 'description', 'encodingType', 'feature'], links: ['Observations'] },
};
const SINGULAR = new Set(['Thing', 'Sensor', 'ObservedProperty', 'Datastream', 'FeatureOfInterest']);
const TARGET: Record<string, string> = {
  Thing: 'Things',
  Sensor: 'Sensors',
  ObservedProperty: 'ObservedProperties',
  Datastream: 'Datastreams',
  FeatureOfInterest: 'FeaturesOfInterest',
};

beforeAll(async () => {
  api = await openTestApi();
  const company = await api.registry.createCompany(SETUP.scope, 'Conformance Oy');
  const pilot = await api.registry.createPilot(SETUP.scope, { companyId: company.id, testbedId: 'espoo', name: 'Conformance', sharing: 'open' });
  device = (await api.registry.createDevice(SETUP.scope, pilot.id, { profile: 'weather', location: { type: 'Point', coordinates: [24.8, 60.2] } })).device.id;
  await api.store.write(
    Array.from({ length: 8 }, (_, i) => ({
      deviceId: device,
      pilotId: pilot.id,
      companyId: company.id,
      testbedId: 'espoo',
      profile: 'weather',
      time: T0 + i * 60_000,
      values: { temperature: i + 1, humidity: 50 + i },
    })),
  );
  root = `http://${'localhost:80'}/sta/v1.1`;
});
afterAll(async () => api?.close());

const get = async (url: string) => {
  const res = await api.app.inject({ url: url.startsWith('http') ? url.slice(url.indexOf('/sta/')) : `/sta/v1.1${url}` });
  return { status: res.statusCode, text: res.body, json: () => JSON.parse(res.body) as Record<string, any> };
};
const key = (id: string) => `('${id.replaceAll("'", "''")}')`;

describe('A.1 sensing core', () => {
  it('the service root lists every entity set at <root>/<name> and the conformance classes it meets', async () => {
    const landing = (await get('')).json();
    expect(landing.value).toEqual(
      Object.keys(MODEL)
        .map((name) => ({ name, url: `${root}/${name}` }))
        .sort((a, b) => Object.keys(MODEL).indexOf(a.name) - Object.keys(MODEL).indexOf(b.name)),
    );
    expect(landing.serverSettings.conformance).toEqual([...CONFORMANCE]);
  });

  it.each(Object.keys(MODEL))('%s: the set, its first entity by id, mandatory properties and navigation links; a missing id is 404', async (set) => {
    const list = await get(`/${set}`);
    expect(list.status).toBe(200);
    const first = list.json().value[0];
    expect(first, `${set} is not empty`).toBeDefined();
    const one = await get(`/${set}${key(first['@iot.id'])}`);
    expect(one.status).toBe(200);
    const entity = one.json();
    expect(entity['@iot.id']).toBe(first['@iot.id']);
    expect(entity['@iot.selfLink']).toBe(`${root}/${set}${key(first['@iot.id'])}`);
    for (const p of MODEL[set]!.props) expect(Object.hasOwn(entity, p), `${set}.${p}`).toBe(true);
    for (const l of MODEL[set]!.links) expect(entity[`${l}@iot.navigationLink`], `${set} ${l}`).toBe(`${entity['@iot.selfLink']}/${l}`);
    expect((await get(`/${set}('no-such-id')`)).status).toBe(404);
    expect((await get(`/${set}(9223372036854775807)`)).status).toBe(404);
  });

  it('a property answers as { name: value } alone, and /$value as the bare value (JSON for objects)', async () => {
    const thing = await get(`/Things${key(device)}/name`);
    expect(Object.keys(thing.json())).toEqual(['name']);
    expect((await get(`/Things${key(device)}/name/$value`)).text.includes('{')).toBe(false);
    expect((await get(`/Datastreams${key(`${device}~temperature`)}/unitOfMeasurement/$value`)).text.startsWith('{')).toBe(true);
    expect((await get(`/FeaturesOfInterest${key(device)}/feature/$value`)).text.startsWith('{')).toBe(true);
  });

  it('resource paths through navigation, three deep with keys, each also as association links ($ref)', async () => {
    const visit = async (path: string, head: string, depth: number): Promise<void> => {
      const res = await get(path);
      expect(res.status, path).toBe(200);
      const body = res.json();
      const plural = !SINGULAR.has(head);
      const id: string = plural ? body.value[0]?.['@iot.id'] : body['@iot.id'];
      expect(id, `${path} is not empty`).toBeDefined();
      const ref = (await get(`${path}/$ref`)).json();
      const links = plural ? ref.value : [ref];
      for (const link of links) expect(Object.keys(link), `${path}/$ref`).toEqual(['@iot.selfLink']);
      if (depth === 3) return;
      const here = plural ? `${path}${key(id)}` : path;
      for (const nav of MODEL[plural ? head : TARGET[head]!]!.links) await visit(`${here}/${nav}`, nav, depth + 1);
    };
    for (const set of Object.keys(MODEL)) await visit(`/${set}`, set, 1);
  });

  it('a key after navigation must name a related entity: another answers 404', async () => {
    expect((await get(`/Things${key(device)}/Datastreams${key(`${device}~temperature`)}/Sensor`)).json()['@iot.id']).toBe('weather');
    expect((await get(`/Things${key(device)}/Datastreams${key('dev_other~temperature')}`)).status).toBe(404);
    const o = `${device}~temperature~${T0}`;
    expect((await get(`/Datastreams${key(`${device}~temperature`)}/Observations${key(o)}`)).json().result).toBe(1);
    expect((await get(`/Datastreams${key(`${device}~humidity`)}/Observations${key(o)}`)).status).toBe(404);
  });
});

describe('A.2 filtering extension', () => {
  it('query options apply in the order the standard gives: $filter, $count, $orderby, $skip, $top', async () => {
    const res = await get(
      `/Datastreams${key(`${device}~temperature`)}/Observations?$count=true&$top=1&$skip=2&$orderby=phenomenonTime desc&$filter=result gt 3`,
    );
    expect(res.status, res.text).toBe(200);
    const body = res.json();
    expect(body['@iot.count']).toBe(5);
    expect(body.value.map((o: { result: number }) => o.result)).toEqual([6]);
  });

  it('$select, $expand with its own options, $top with @iot.nextLink, $orderby both ways', async () => {
    const thing = (
      await get(
        `/Things${key(device)}?$select=name&$expand=Datastreams($select=name;$filter=name eq '${device} temperature';$expand=Observations($top=2;$orderby=result desc))`,
      )
    ).json();
    expect(Object.keys(thing).sort()).toEqual(['Datastreams', 'name']);
    expect(thing.Datastreams).toHaveLength(1);
    expect(thing.Datastreams[0].Observations.map((o: { result: number }) => o.result)).toEqual([8, 7]);
    expect(thing.Datastreams[0]['Observations@iot.nextLink']).toContain('$skip=2'.replace('$', '%24'));
    const page = (await get('/Observations?$top=3&$orderby=result')).json();
    expect(page.value.map((o: { result: number }) => o.result)).toEqual([1, 2, 3]);
    const next = (await get(page['@iot.nextLink'])).json();
    expect(next.value.map((o: { result: number }) => o.result)).toEqual([4, 5, 6]);
  });

  it('an error answer is 400 with a message naming what is wrong', async () => {
    const bad = await get('/Things?$filter=name eq');
    expect(bad.status).toBe(400);
    expect(bad.json().error.code).toBe('TESTBED_STA_BAD_QUERY');
    const unsupported = await get('/Things?$apply=groupby(name)');
    expect(unsupported.status).toBe(400);
    expect(unsupported.json().error.message).toContain('$apply');
  });
});
