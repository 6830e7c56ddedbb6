import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceTopic } from '../core/topics.js';
import { EmbeddedStore } from '../store/embedded/store.js';
import { ADMIN_TOKEN, eventually, provision, startTestPipeline, type TestPipeline } from './helpers/pipeline.js';
import { tempDir } from './helpers/tmp.js';

const ALL = { kind: 'all' } as const;

describe('rejection records are bounded: per message, per device, and in time', () => {
  const seeded = tempDir('testbed-rejections-');
  const DAY = 86_400_000;
  let p: TestPipeline;

  beforeAll(async () => {
    // A rejection from 40 days ago and one from yesterday, in the data folder before the gateway starts.
    const store = await EmbeddedStore.open(seeded.dir);
    const old = { deviceId: 'dev_old', pilotId: 'p', companyId: 'c', testbedId: 'helsinki', code: 'TESTBED_READING_NOT_JSON' as const, reason: 'r' };
    const kept = { payload: 'x', payloadEncoding: 'utf8' as const, payloadBytes: 1 };
    await store.writeRejections([
      { ...old, ...kept, time: Date.now() - 40 * DAY },
      { ...old, ...kept, time: Date.now() - DAY },
    ]);
    await store.close();
    p = await startTestPipeline({
      TESTBED_DATA_DIR: seeded.dir,
      TESTBED_REJECTIONS_PER_DEVICE_PER_MINUTE: '15',
      TESTBED_REJECTIONS_RETENTION_DAYS: '30',
    });
  });
  afterAll(async () => {
    await p?.close();
    seeded.remove();
  });

  const rejections = (deviceId: string) => p.stores.rejections.queryRejections(ALL, { deviceId, limit: 1000 });
  const ingestCounts = async () =>
    ((await (await fetch(`${p.apiUrl}/v1/health`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json()) as { ingest: Record<string, number> })
      .ingest;

  it('deletes rejections older than TESTBED_REJECTIONS_RETENTION_DAYS', async () => {
    const left = await eventually(async () => {
      const rows = await rejections('dev_old');
      return rows.length === 1 ? rows : undefined;
    });
    expect(left[0]!.time).toBeGreaterThan(Date.now() - 2 * DAY);
  });

  it('turns a pack of 200 bad records into at most 10 rejection records, with the payload kept once', async () => {
    const { device, password } = (await provision(p, 'noise', 1)).devices[0]!;
    const pack = JSON.stringify(Array.from({ length: 200 }, (_, i) => ({ n: `nope${i}`, v: i })));
    const before = await ingestCounts();
    const client = await mqtt.connectAsync(p.mqttUrl, { username: device.username, password, protocolVersion: 4, reconnectPeriod: 0 });
    await client.publishAsync(deviceTopic(device.id, 'readings'), pack, { qos: 1 });
    await client.endAsync();
    const rows = await eventually(async () => {
      const got = await rejections(device.id);
      return got.length > 0 ? got : undefined;
    });
    await new Promise((r) => setTimeout(r, 200)); // anything more would have been written in the same batch
    expect(await rejections(device.id)).toHaveLength(10);
    expect(rows[0]!.payload).toBe(pack.slice(0, 4096));
    expect(rows.slice(1).every((r) => r.payload === '')).toBe(true);
    expect(rows.at(-1)!.reason).toMatch(/and 190 more problems/);
    const after = await ingestCounts();
    expect(after.rejections! - before.rejections!).toBe(200);
    expect(after.rejectionsNotStored! - before.rejectionsNotStored!).toBe(190);
  });

  it('stores at most TESTBED_REJECTIONS_PER_DEVICE_PER_MINUTE rejections of a device, and counts the rest', async () => {
    const { device, password } = (await provision(p, 'noise', 1)).devices[0]!;
    const before = await ingestCounts();
    const client = await mqtt.connectAsync(p.mqttUrl, { username: device.username, password, protocolVersion: 4, reconnectPeriod: 0 });
    for (let i = 0; i < 40; i++) await client.publishAsync(deviceTopic(device.id, 'readings'), `not json ${i}`, { qos: 1 });
    await client.endAsync();
    await eventually(async () => ((await rejections(device.id)).length >= 15 ? true : undefined));
    await new Promise((r) => setTimeout(r, 200));
    expect(await rejections(device.id)).toHaveLength(15);
    const after = await ingestCounts();
    expect(after.rejectionsNotStored! - before.rejectionsNotStored!).toBe(25);
  });
});
