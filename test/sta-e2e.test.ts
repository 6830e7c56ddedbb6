import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceTopic } from '../core/index.js';
import { SETUP_CALLER as SETUP } from '../registry/index.js';
import { startInfluxd, type Influxd } from './helpers/influxd.js';
import { eventually, startTestPipeline, type TestPipeline } from './helpers/pipeline.js';

/*
 * The SensorThings API over the real pipeline: readings published over MQTT to
 * the gateway, stored (embedded store, then a real influxd), and read back at
 * /sta/v1.1 anonymously and with company keys. The expected values are the ones
 * published here, written out independently of the code under test.
 */
const MIN = 60_000;
const T0 = Math.floor((Date.now() - 3 * 3_600_000) / MIN) * MIN;
const iso = (ms: number) => new Date(ms).toISOString();
/** Reading i of the open device: pm25 and temperature; every third also humidity. */
const sent = Array.from({ length: 23 }, (_, i) => ({
  time: T0 + i * MIN,
  values: { pm25: 2 + i * 0.5, temperature: -3 + i * 0.25, ...(i % 3 === 0 ? { humidity: 60 + i } : {}) },
}));

function staSuite(name: string, setup: () => Promise<{ env: Record<string, string>; close(): Promise<void> }>) {
  describe(name, () => {
    let p: TestPipeline;
    let ctx: Awaited<ReturnType<typeof setup>>;
    const ids = { open: '', private: '', embargoed: '', openPilot: '', privatePilot: '' };
    const keys = { a: '', b: '' };

    const get = async (path: string, key?: string): Promise<{ status: number; body: any }> => {
      const url = path.startsWith('http') ? path : `${p.apiUrl}/sta/v1.1${path}`;
      const res = await fetch(url, { headers: key ? { authorization: `Bearer ${key}` } : {} });
      // Requests without a key are limited per address (README: Open data); a client waits as told.
      if (res.status === 429 && !key) {
        await new Promise((r) => setTimeout(r, Number(res.headers.get('retry-after') ?? 1) * 1000));
        return get(path, key);
      }
      return { status: res.status, body: (await res.json()) as any };
    };

    async function publish(deviceId: string, password: string, username: string, readings: { time: number; values: Record<string, number> }[]) {
      const client = await mqtt.connectAsync(p.mqttUrl, { username, password, protocolVersion: 4, reconnectPeriod: 0 });
      for (const r of readings) await client.publishAsync(deviceTopic(deviceId, 'readings'), JSON.stringify({ time: iso(r.time), ...r.values }), { qos: 1 });
      await client.endAsync();
    }

    beforeAll(async () => {
      ctx = await setup();
      p = await startTestPipeline(ctx.env);
      const a = await p.registry.createCompany(SETUP.scope, 'Open Oy');
      const b = await p.registry.createCompany(SETUP.scope, 'Private Ab');
      keys.a = (await p.registry.createCompanyKey(SETUP, a.id)).key;
      keys.b = (await p.registry.createCompanyKey(SETUP, b.id)).key;
      const open = await p.registry.createPilot(SETUP.scope, {
        companyId: a.id,
        testbedId: 'espoo',
        name: 'Open air',
        sharing: 'open',
        attribution: 'City of Espoo, Open Oy',
      });
      const priv = await p.registry.createPilot(SETUP.scope, { companyId: b.id, testbedId: 'espoo', name: 'Private air' });
      const embargoed = await p.registry.createPilot(SETUP.scope, {
        companyId: a.id,
        testbedId: 'espoo',
        name: 'Later',
        sharing: 'open',
        openFrom: Date.now() + 86_400_000,
      });
      ids.openPilot = open.id;
      ids.privatePilot = priv.id;
      const made = await Promise.all(
        [open, priv, embargoed].map((pilot, i) =>
          p.registry.createDevice(SETUP.scope, pilot.id, {
            profile: 'air-quality',
            name: `station ${i}`,
            location: { type: 'Point', coordinates: [24.8 + i * 0.1, 60.2] },
          }),
        ),
      );
      [ids.open, ids.private, ids.embargoed] = made.map((m) => m.device.id) as [string, string, string];
      await publish(ids.open, made[0]!.password, made[0]!.device.username, sent);
      for (const m of made.slice(1)) await publish(m.device.id, m.password, m.device.username, sent.slice(0, 5));
      await eventually(
        async () => {
          const all = await Promise.all(
            [ids.open, ids.private, ids.embargoed].map((id) =>
              p.stores.readings.queryRaw(SETUP.scope, {
                select: { kind: 'device', deviceId: id },
                from: 0,
                to: Date.now() + MIN,
                limit: 100,
                deadline: Date.now() + 5000,
              }),
            ),
          );
          return all[0]!.length === sent.length && all[1]!.length === 5 && all[2]!.length === 5 ? true : undefined;
        },
        15_000,
        'every published reading stored',
      );
    }, 60_000);
    afterAll(async () => {
      await p?.close();
      await ctx?.close();
    });

    it('anonymous: open Things only, with expanded Datastreams, units, licence and attribution', async () => {
      const { status, body } = await get('/Things?$expand=Datastreams($orderby=name;$select=name,unitOfMeasurement,phenomenonTime)');
      expect(status).toBe(200);
      expect(body.value.map((t: any) => t['@iot.id'])).toEqual([ids.open]);
      const thing = body.value[0];
      expect(thing.properties).toMatchObject({ pilotId: ids.openPilot, licence: 'CC-BY-4.0', attribution: 'City of Espoo, Open Oy', testbedId: 'espoo' });
      const pm25 = thing.Datastreams.find((d: any) => d.name === 'station 0 pm25');
      expect(pm25.unitOfMeasurement).toEqual({ name: 'microgram per cubic metre', symbol: 'µg/m³', definition: 'http://qudt.org/vocab/unit/MicroGM-PER-M3' });
      expect(pm25.phenomenonTime).toBe(`${iso(T0)}/${iso(T0 + 22 * MIN)}`);
      expect(thing.Datastreams.find((d: any) => d.name === 'station 0 humidity').phenomenonTime).toBe(`${iso(T0)}/${iso(T0 + 21 * MIN)}`);
    });

    it("a Datastream's Observations, filtered by time, ordered, paged by @iot.nextLink to the end", async () => {
      const from = T0 + 4 * MIN;
      const to = T0 + 19 * MIN;
      let url: string | undefined =
        `/Datastreams('${ids.open}~temperature')/Observations?$filter=phenomenonTime ge ${iso(from)} and phenomenonTime lt ${iso(to)}&$top=4&$select=result,phenomenonTime`;
      const got: { t: string; v: number }[] = [];
      let pages = 0;
      while (url) {
        const { status, body } = await get(url);
        expect(status, JSON.stringify(body)).toBe(200);
        got.push(...body.value.map((o: any) => ({ t: o.phenomenonTime, v: o.result })));
        url = body['@iot.nextLink'];
        pages++;
      }
      const expected = sent.filter((r) => r.time >= from && r.time < to).map((r) => ({ t: iso(r.time), v: r.values.temperature }));
      expect(got).toEqual(expected);
      expect(pages).toBe(Math.ceil(expected.length / 4));
      const desc = await get(`/Datastreams('${ids.open}~humidity')/Observations?$orderby=phenomenonTime desc&$top=3&$count=true`);
      expect(desc.body['@iot.count']).toBe(8);
      expect(desc.body.value.map((o: any) => o.result)).toEqual([81, 78, 75]);
      expect(desc.body['@iot.nextLink']).toContain('%24skip=3');
      const next = await get(desc.body['@iot.nextLink']);
      expect(next.body.value.map((o: any) => o.result)).toEqual([72, 69, 66]);
    });

    it('$filter, $orderby, $select, $count and nested $expand', async () => {
      const hot = await get(`/Observations?$filter=Datastream/id eq '${ids.open}~pm25' and result add 1 gt 12&$orderby=result desc&$top=2&$count=true`);
      expect(hot.body['@iot.count']).toBe(sent.filter((r) => r.values.pm25 + 1 > 12).length);
      expect(hot.body.value.map((o: any) => o.result)).toEqual([13, 12.5]);
      const named = await get(`/Datastreams?$filter=startswith(name, 'station 0 p') and substringof('m', name)&$select=name&$orderby=name desc`);
      expect(named.body.value).toEqual([{ name: 'station 0 pm25' }, { name: 'station 0 pm10' }]);
      const nested = await get(
        `/Things('${ids.open}')?$select=name&$expand=Datastreams($filter=name eq 'station 0 pm25';$expand=Observations($top=2;$orderby=phenomenonTime desc),Sensor($select=name,properties),ObservedProperty)`,
      );
      const ds = nested.body.Datastreams;
      expect(ds).toHaveLength(1);
      expect(ds[0].Observations.map((o: any) => o.result)).toEqual([13, 12.5]);
      expect(ds[0]['Observations@iot.nextLink']).toBeDefined();
      expect(ds[0].Sensor.properties).toMatchObject({ profile: 'air-quality' });
      expect(ds[0].ObservedProperty.name).toBe('pm25');
      const inside = await get(`/Locations?$filter=st_within(location, geography'POLYGON((24.7 60.1, 24.85 60.1, 24.85 60.3, 24.7 60.3, 24.7 60.1))')`);
      expect(inside.body.value.map((l: any) => l.properties.deviceId)).toEqual([ids.open]);
      const outside = await get(`/FeaturesOfInterest?$filter=geo.intersects(feature, geography'POLYGON((25 60, 26 60, 26 61, 25 61, 25 60))')`);
      expect(outside.body.value).toEqual([]);
      const bad = await get(`/Things?$apply=groupby(name)`);
      expect(bad.status).toBe(400);
      expect(bad.body.error).toMatchObject({ code: 'TESTBED_STA_UNSUPPORTED', details: { unsupported: 'the query option $apply' } });
    });

    it('isolation: a company sees only its Things, through $expand and navigation too; foreign ids 404', async () => {
      const mine = await get('/Things?$expand=Datastreams', keys.b);
      expect(mine.body.value.map((t: any) => t['@iot.id'])).toEqual([ids.private]);
      const observations = await get('/Observations?$top=1000', keys.b);
      expect(new Set(observations.body.value.map((o: any) => o['@iot.id'].split('~')[0]))).toEqual(new Set([ids.private]));
      const missing = await get(`/Things('dev_doesnotexist00')`, keys.b);
      expect(missing.status).toBe(404);
      for (const [who, key, hidden] of [
        ['company B', keys.b, ids.open],
        ['anonymous', undefined, ids.private],
        ['anonymous', undefined, ids.embargoed],
      ] as const) {
        for (const path of [
          `/Things('${hidden}')`,
          `/Things('${hidden}')/Datastreams`,
          `/Datastreams('${hidden}~pm25')`,
          `/Datastreams('${hidden}~pm25')/Observations`,
          `/Datastreams('${hidden}~pm25')/Thing`,
          `/Observations('${hidden}~pm25~${T0}')`,
          `/FeaturesOfInterest('${hidden}')/Observations`,
        ]) {
          const res = await get(path, key);
          expect(res.status, `${who} ${path}`).toBe(404);
          expect(res.body, `${who} ${path}`).toEqual(missing.body);
        }
        for (const set of ['Things', 'Datastreams', 'Observations?$top=1000', 'Locations', 'HistoricalLocations', 'FeaturesOfInterest']) {
          const listed = JSON.stringify(
            (
              await get(
                `/${set}${set.includes('?') ? '&' : '?'}$expand=${set.startsWith('Observations') ? 'Datastream' : set === 'Things' ? 'Datastreams,Locations' : set === 'Datastreams' ? 'Observations' : set === 'HistoricalLocations' ? 'Thing' : 'Observations'}`,
                key,
              )
            ).body,
          );
          expect(listed.includes(hidden), `${who} ${set} shows ${hidden}`).toBe(false);
        }
      }
    });
  });
}

staSuite('SensorThings over the embedded store', async () => ({ env: {}, close: async () => {} }));
staSuite('SensorThings over InfluxDB', async () => {
  const influxd: Influxd = await startInfluxd();
  return { env: { TESTBED_INFLUX_URL: influxd.url, TESTBED_INFLUX_BUCKET: 'sta' }, close: () => influxd.stop() };
});
