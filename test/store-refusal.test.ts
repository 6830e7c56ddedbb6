import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceTopic } from '../core/topics.js';
import { startInfluxd, type Influxd } from './helpers/influxd.js';
import { provision, startTestPipeline, type TestPipeline } from './helpers/pipeline.js';
import { eventually } from './helpers/wait.js';
import { readDevice } from './helpers/readings.js';

/**
 * A reading InfluxDB refuses after the gateway acknowledged it: it becomes a
 * rejection with the store's reason, the device is told, and the queue goes on.
 */
describe('a reading the store refuses', () => {
  let influxd: Influxd;
  let p: TestPipeline;
  beforeAll(async () => {
    influxd = await startInfluxd();
    await influxd.query('CREATE DATABASE "refusal"', { method: 'POST' });
    // Someone else wrote laeq as a string: a float laeq is now a field type conflict
    // (field types hold per shard, so the point is in the same week as the readings below).
    const body = `readings,device=other laeq="loud" ${Date.UTC(2026, 10, 1, 7)}`;
    const res = await fetch(`${influxd.url}/write?db=refusal&precision=ms`, { method: 'POST', body });
    expect(res.status).toBe(204);
    p = await startTestPipeline({ TESTBED_INFLUX_URL: influxd.url, TESTBED_INFLUX_BUCKET: 'refusal' });
  });
  afterAll(async () => {
    await p?.close();
    await influxd?.stop();
  });

  it('is recorded with the store reason, the device is told, and readings after it are stored', async () => {
    const noise = (await provision(p, 'noise')).devices[0]!;
    const air = (await provision(p, 'air-quality')).devices[0]!;
    const client = await mqtt.connectAsync(p.mqttUrl, { username: noise.device.username, password: noise.password, protocolVersion: 4, reconnectPeriod: 0 });
    await client.subscribeAsync(deviceTopic(noise.device.id, 'errors'), { qos: 0 });
    const notice = new Promise<{ code: string; reason: string }>((resolve) => client.once('message', (_t, payload) => resolve(JSON.parse(payload.toString()))));
    await client.publishAsync(deviceTopic(noise.device.id, 'readings'), JSON.stringify({ laeq: 50, time: '2026-11-01T08:00:00Z' }), { qos: 1 });
    expect(await notice).toMatchObject({ code: 'TESTBED_READING_STORE_REFUSED', reason: expect.stringMatching(/field type conflict/) });
    const [rejection] = await eventually(async () => {
      const r = await p.stores.rejections.queryRejections({ kind: 'all' }, { deviceId: noise.device.id, limit: 10 });
      return r.length > 0 ? r : undefined;
    });
    expect(rejection).toMatchObject({ code: 'TESTBED_READING_STORE_REFUSED' });
    expect(p.ingest.stats().refused).toBe(1);
    await client.endAsync();

    // The poison reading did not block the queue.
    const other = await mqtt.connectAsync(p.mqttUrl, { username: air.device.username, password: air.password, protocolVersion: 4, reconnectPeriod: 0 });
    await other.publishAsync(deviceTopic(air.device.id, 'readings'), JSON.stringify({ pm25: 3, time: '2026-11-01T08:00:00Z' }), { qos: 1 });
    await other.endAsync();
    await eventually(async () => {
      const r = await readDevice(p.stores.readings, air.device.id, { limit: 10 }, { kind: 'all' });
      return r.length === 1 ? r : undefined;
    });
  });
});
