import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceTopic } from '../core/topics.js';
import { SETUP_CALLER as SETUP } from '../registry/index.js';
import { freePorts } from './helpers/ports.js';
import { ADMIN_TOKEN, eventually, provision, startTestPipeline, type TestPipeline } from './helpers/pipeline.js';
import { startPrometheus } from './helpers/prometheus.js';

/*
 * A real Prometheus server scrapes the pipeline's metrics port every second
 * while readings, bad readings and a refused login arrive over MQTT; its
 * query API then has to agree with what was sent.
 */

let p: TestPipeline;
let prometheus: Awaited<ReturnType<typeof startPrometheus>>;

beforeAll(async () => {
  const [metricsPort] = await freePorts(1);
  p = await startTestPipeline({ TESTBED_METRICS_PORT: String(metricsPort) });
  prometheus = await startPrometheus(`127.0.0.1:${metricsPort}`);
}, 30_000);
afterAll(async () => {
  await prometheus?.stop();
  await p?.close();
});

describe('Prometheus metrics', () => {
  it('counts what was published and rejected, as a real Prometheus server scrapes it', async () => {
    const { devices } = await provision(p, 'weather', 2);
    const [a, b] = devices.map((d) => d!);
    const client = await mqtt.connectAsync(p.mqttUrl, { username: a!.device.username, password: a!.password, reconnectPeriod: 0 });
    const topic = deviceTopic(a!.device.id, 'readings');
    const t0 = Date.now() - 60_000;
    for (let i = 0; i < 5; i++) await client.publishAsync(topic, JSON.stringify({ time: t0 + i * 1000, temperature: 10 + i }), { qos: 1 });
    await client.publishAsync(topic, JSON.stringify({ temperature: 500 }), { qos: 1 });
    await client.publishAsync(topic, JSON.stringify({ temperature: -500 }), { qos: 1 });
    await client.publishAsync(topic, 'not json', { qos: 0 });
    await expect(mqtt.connectAsync(p.mqttUrl, { username: b!.device.username, password: 'wrong', reconnectPeriod: 0 })).rejects.toThrow();
    const res = await fetch(`${p.apiUrl}/v1/pilots`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(res.status).toBe(200);

    const at = async (query: string, expected: number) =>
      eventually(async () => ((await prometheus.value(query)) === expected ? expected : undefined), 15_000, `${query} = ${expected}`);
    await at('testbed_ingest_readings_total', 5);
    await at('sum(testbed_ingest_rejections_total)', 3);
    await at('testbed_ingest_rejections_total{code="TESTBED_READING_OUT_OF_RANGE"}', 2);
    await at('testbed_ingest_rejections_total{code="TESTBED_READING_NOT_JSON"}', 1);
    await at('testbed_ingest_messages_total{qos="1"}', 7);
    await at('testbed_ingest_messages_total{qos="0"}', 1);
    await at('testbed_gateway_connects_total{result="accepted"}', 1);
    await at('testbed_gateway_connects_total{result="refused"}', 1);
    await at('testbed_gateway_connections', 1);
    await at('testbed_devices{testbed="helsinki",status="ok"}', 1);
    await at('testbed_devices{testbed="helsinki",status="never"}', 1);
    await at('testbed_ingest_duplicates_total', 0);
    await at('testbed_queue_depth_bytes', 0);
    await at('testbed_http_requests_total{route="/v1/pilots",status="200"}', 1);
    expect(await prometheus.value('sum(testbed_store_writes_total{result="ok"}) > 0')).toBeGreaterThan(0);
    expect(await prometheus.value('testbed_store_write_duration_seconds_count')).toBeGreaterThan(0);
    expect(await prometheus.value('testbed_http_request_duration_seconds_count{route="/v1/pilots"}')).toBe(1);
    expect(await prometheus.value('process_resident_memory_bytes')).toBeGreaterThan(0);

    // A real alert: the device goes offline, then comes back.
    await p.registry.createAlertRule(SETUP.scope, { condition: 'offline', threshold: 0, holdSeconds: 0, pilotId: a!.device.pilotId, testbedId: 'helsinki' });
    await client.endAsync();
    await at('testbed_alerts_open{testbed="helsinki"}', 1);
    const back = await mqtt.connectAsync(p.mqttUrl, { username: a!.device.username, password: a!.password, reconnectPeriod: 0 });
    await at('testbed_alerts_open{testbed="helsinki"}', 0);
    await back.endAsync();
  }, 60_000);

  it('is scraped on the API port by a real Prometheus server with a key that has only the metrics scope', async () => {
    const key = (
      await p.registry.createKey(
        SETUP,
        { role: 'researcher', companyId: null, testbedIds: ['helsinki'], readOnly: true, scopes: ['metrics'], expiresAt: null },
        'prometheus',
      )
    ).key;
    const scraper = await startPrometheus(new URL(p.apiUrl).host, { bearer: key });
    try {
      await eventually(async () => ((await scraper.value('up{job="testbed"}')) === 1 ? true : undefined), 15_000, 'the API port scraped');
      expect(await scraper.value('testbed_ingest_readings_total')).toBeGreaterThanOrEqual(0);
    } finally {
      await scraper.stop();
    }
    // The scope opens /metrics and nothing else: the key is still a researcher, read-only, that may not manage keys.
    expect((await fetch(`${p.apiUrl}/v1/keys`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(403);
  }, 60_000);

  it('answers GET /metrics on the API port to admin and operator keys and metrics-scope keys only', async () => {
    const get = (key?: string) => fetch(`${p.apiUrl}/metrics`, { headers: key ? { authorization: `Bearer ${key}` } : {} });
    const admin = await get(ADMIN_TOKEN);
    expect(admin.status).toBe(200);
    expect(admin.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await admin.text()).toMatch(/^# HELP testbed_ingest_readings_total/m);
    const operator = (await p.registry.createKey(SETUP, { role: 'operator', companyId: null, testbedIds: ['helsinki'], readOnly: true, expiresAt: null }, null))
      .key;
    expect((await get(operator)).status).toBe(200);
    const { company } = await provision(p, 'weather', 0);
    expect((await get((await p.registry.createCompanyKey(SETUP, company.id)).key)).status).toBe(403);
    const researcher = async (scopes: 'metrics'[]) =>
      (await p.registry.createKey(SETUP, { role: 'researcher', companyId: null, testbedIds: null, readOnly: true, scopes, expiresAt: null }, null)).key;
    expect((await get(await researcher([]))).status).toBe(403);
    expect((await get(await researcher(['metrics']))).status).toBe(200);
    expect((await get()).status).toBe(401);
  });
});
