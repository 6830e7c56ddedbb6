import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../core/log.js';
import { toLine } from '../store/influx/line-protocol.js';
import { InfluxStore } from '../store/influx/store.js';
import { startInfluxd, type Influxd } from './helpers/influxd.js';
import { T0, freshId, reading } from './store-contract.js';
import { readDevice } from './helpers/readings.js';

/*
 * The device's name as a tag for dashboards' legends, against a real influxd:
 * written escaped, and never a second device to the API's reads after a rename.
 */

const log = createLogger(process.env.TESTBED_TEST_LOG ?? 'silent');
const ALL = { kind: 'all' } as const;
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

let influxd: Influxd;
let store: InfluxStore;
beforeAll(async () => {
  influxd = await startInfluxd();
  store = await InfluxStore.open({ url: influxd.url, token: undefined, bucket: 'names', org: undefined }, log);
});
afterAll(async () => {
  await store?.close();
  await influxd?.stop();
});

type Json = { results: { series?: { columns: string[]; values: unknown[][] }[] }[] };
const tagValues = async (deviceId: string): Promise<string[]> => {
  const body = (await influxd.query(`SHOW TAG VALUES FROM "readings" WITH KEY = "device_name" WHERE "device" = '${deviceId}'`, { db: 'names' })) as Json;
  return (body.results[0]?.series?.[0]?.values ?? []).map((v) => v[1] as string).sort();
};

describe('InfluxStore: the device name tag', () => {
  it('writes the name escaped, and a renamed device still reads back as one device with all its readings', async () => {
    const d = freshId('renamed');
    const pilotId = freshId('pi');
    const tags = { pilotId, profile: 'weather' };
    // Spaces, a comma and an equals sign: each would end or split the tag if not escaped.
    const before = 'Lamp post 7, school=Aurora';
    const after = 'Lamp post 7 (moved)';
    await store.write([0, 1, 2].map((i) => reading(d, T0 + i * MINUTE, { temperature: i }, { ...tags, deviceName: before })));
    await store.write([3, 4].map((i) => reading(d, T0 + i * MINUTE, { temperature: i }, { ...tags, deviceName: after })));
    await store.write([reading(d, T0 + 5 * MINUTE, { temperature: 5 }, tags)]); // no name: labelled by its id

    // InfluxDB itself holds both names exactly, as tag values of one device id.
    expect(await tagValues(d)).toEqual([after, before, d].sort());

    // Every read of ours selects and groups by the id: one device, every reading.
    const raw = await readDevice(store, d);
    expect(raw.map((r) => r.values.temperature)).toEqual([0, 1, 2, 3, 4, 5]);
    const deadline = Date.now() + 30_000;
    const pilotRows = await store.queryRaw(ALL, { select: { kind: 'pilot', pilotId }, from: 0, to: T0 + HOUR, limit: 100, deadline });
    expect(new Set(pilotRows.map((r) => r.deviceId))).toEqual(new Set([d]));
    expect(pilotRows).toHaveLength(6);
    const windows = await store.queryAggregate(ALL, { select: { kind: 'device', deviceId: d }, from: T0, to: T0 + HOUR, every: HOUR, fn: 'count', deadline });
    expect(windows).toEqual([expect.objectContaining({ deviceId: d, time: T0, values: { temperature: 6 } })]);
    const sums = await store.queryAggregate(ALL, { select: { kind: 'pilot', pilotId }, from: T0, to: T0 + HOUR, every: HOUR, fn: 'sum', deadline });
    expect(sums.map((r) => [r.deviceId, r.values.temperature])).toEqual([[d, 15]]);
    const latest = await store.queryLatest(ALL, { pilotId, deviceIds: [d] });
    expect(latest).toHaveLength(1);
    expect(latest[0]).toMatchObject({ deviceId: d });
  });

  it('labels by the id a device whose name line protocol cannot hold exactly, and stores the reading', async () => {
    const d = freshId('oddname');
    const line = toLine(reading(d, T0, { temperature: 1 }, { deviceName: 'two\nlines' }));
    expect(line).toEqual(expect.stringContaining(`,device=${d},device_name=${d},pilot=`));
    expect(await store.write([reading(d, T0, { temperature: 1 }, { deviceName: 'ends in \\' })])).toMatchObject({ refused: [] });
    expect(await readDevice(store, d)).toHaveLength(1);
    expect(await tagValues(d)).toEqual([d]);
  });
});
