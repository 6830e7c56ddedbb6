import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childPipeline, type ChildPipeline } from './helpers/child-pipeline.js';
import { startInfluxd, type Influxd } from './helpers/influxd.js';
import { startLoad, type LoadDevice } from './helpers/load.js';
import { freePorts } from './helpers/ports.js';
import { tempDir } from './helpers/tmp.js';
import { eventually } from './helpers/wait.js';

/**
 * The guarantee, proven against the real thing: `testbed start` as a child
 * process, a real influxd, real MQTT clients counting PUBACKs. In every fault,
 * the readings stored in InfluxDB (counted in InfluxDB itself) equal the
 * readings acknowledged, exactly: none lost, none twice.
 */
const ADMIN = 'durability-admin-token-0123456789';
const DB = 'durability';
const DEVICES = 16;

interface Rig {
  pipeline: ChildPipeline;
  devices: LoadDevice[];
  companyId: string;
  apiUrl: string;
  mqttUrl: string;
  close(): Promise<void>;
}

describe('durability: from PUBACK to InfluxDB, nothing acknowledged is lost', () => {
  let influxd: Influxd;
  beforeAll(async () => {
    influxd = await startInfluxd();
  });
  afterAll(async () => {
    await influxd?.stop();
  });

  async function rig(env: Record<string, string> = {}, storeUp = true): Promise<Rig> {
    if (storeUp && !influxd.running) await influxd.restart(); // a failed test may have left it stopped
    const tmp = tempDir('durability-');
    const [mqttPort, httpPort] = (await freePorts(2)) as [number, number];
    const pipeline = childPipeline({
      TESTBED_DATA_DIR: tmp.dir,
      TESTBED_MQTT_PORT: String(mqttPort),
      TESTBED_HTTP_PORT: String(httpPort),
      TESTBED_ADMIN_TOKEN: ADMIN,
      TESTBED_INFLUX_URL: influxd.url,
      TESTBED_INFLUX_BUCKET: DB,
      TESTBED_RETRY_MAX_SECONDS: '1',
      ...env,
    });
    await pipeline.start();
    const apiUrl = `http://127.0.0.1:${httpPort}`;
    const post = async (path: string, body: unknown) => {
      const res = await fetch(`${apiUrl}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(res.status, path).toBe(201);
      return (await res.json()) as Record<string, any>;
    };
    const company = await post('/v1/companies', { name: 'Durable Oy' });
    const pilot = await post('/v1/pilots', { companyId: company.id, testbedId: 'tampere', name: 'Faults' });
    const devices: LoadDevice[] = [];
    for (let i = 0; i < DEVICES; i++) {
      const d = await post(`/v1/pilots/${pilot.id}/devices`, { profile: 'noise' });
      devices.push({ deviceId: d.id, username: d.mqtt.username, password: d.mqtt.password });
    }
    return {
      pipeline,
      devices,
      companyId: company.id,
      apiUrl,
      mqttUrl: `mqtt://127.0.0.1:${mqttPort}`,
      async close() {
        await pipeline.kill('SIGKILL');
        tmp.remove();
      },
    };
  }

  /** Readings of a company in InfluxDB, counted by InfluxDB. */
  async function stored(companyId: string): Promise<number> {
    const answer = (await influxd.query(`SELECT count("laeq") FROM "readings" WHERE "company" = '${companyId}'`, { db: DB })) as {
      results: { series?: { values: [string, number][] }[] }[];
    };
    return answer.results[0]?.series?.[0]?.values[0]?.[1] ?? 0;
  }

  /** Half the devices send their own time, half rely on the time of receipt (the harder case for duplicates). */
  const payload = (d: number, i: number) =>
    JSON.stringify(d % 2 === 0 ? { laeq: 40 + (i % 400) / 10, time: Date.UTC(2026, 10, 1) + i } : { laeq: 40 + (i % 400) / 10 });

  async function drained(companyId: string, expected: number, timeoutMs: number): Promise<number> {
    const started = Date.now();
    await eventually(async () => ((await stored(companyId)) >= expected ? true : undefined), timeoutMs, `${expected} readings in InfluxDB`);
    return Date.now() - started;
  }

  function report(name: string, figures: Record<string, number>) {
    process.stdout.write(
      `[durability] ${name}: ${Object.entries(figures)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}\n`,
    );
  }

  it('survives SIGKILL of the pipeline mid-run: every acknowledged reading stored once', async () => {
    const r = await rig();
    const load = startLoad({ url: r.mqttUrl, devices: r.devices, perDevice: 800, payload, burst: 20, pauseMs: 10 });
    const total = DEVICES * 800;
    await eventually(() => (load.acknowledged > total * 0.3 ? true : undefined), 30_000, '30% acknowledged');
    const ackedBeforeKill = load.acknowledged;
    await r.pipeline.kill('SIGKILL');
    await sleep(300);
    await r.pipeline.start();
    await load.settled(3000, 60_000);
    const drainMs = await drained(r.companyId, load.acknowledged, 30_000);
    await sleep(500); // anything stored twice would show by now
    const count = await stored(r.companyId);
    report('sigkill', { published: load.published, ackedBeforeKill, acknowledged: load.acknowledged, stored: count, drainMs });
    expect(load.acknowledged).toBeGreaterThan(ackedBeforeKill);
    expect(count).toBe(load.acknowledged);
    await load.close();
    await r.close();
  }, 180_000);

  it('queues on disk while InfluxDB is down for longer than the retry window, then drains', async () => {
    const r = await rig();
    const load = startLoad({ url: r.mqttUrl, devices: r.devices, perDevice: 600, payload, burst: 20, pauseMs: 10 });
    const total = DEVICES * 600;
    await eventually(() => (load.acknowledged > total * 0.25 ? true : undefined), 30_000, '25% acknowledged');
    await influxd.kill('SIGTERM');
    // Readings go on being acknowledged while the store is down: they are on disk.
    await load.allAcknowledged(60_000);
    const health = (await (await fetch(`${r.apiUrl}/v1/health`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as {
      status: string;
      store: { reachable: boolean };
      queue: { depthBytes: number };
    };
    expect(health.status).toBe('degraded');
    expect(health.store.reachable).toBe(false);
    expect(health.queue.depthBytes).toBeGreaterThan(0);
    await sleep(3000);
    const restarted = Date.now();
    await influxd.restart();
    await drained(r.companyId, total, 60_000);
    const drainMs = Date.now() - restarted;
    await sleep(300);
    const count = await stored(r.companyId);
    report('influxd down', { published: load.published, acknowledged: load.acknowledged, stored: count, drainMs });
    expect(count).toBe(load.acknowledged);
    await load.close();
    await r.close();
  }, 180_000);

  it('stops acknowledging when the queue is full, says so, and loses nothing', async () => {
    const r = await rig({ TESTBED_QUEUE_MAX_BYTES: String(1024 * 1024) });
    await influxd.kill('SIGTERM');
    const load = startLoad({ url: r.mqttUrl, devices: r.devices, perDevice: 1000, payload, burst: 50, pauseMs: 5 });
    const total = DEVICES * 1000;
    // About 1 MiB of queued records, then acknowledgements stop.
    await eventually(
      async () => {
        const health = (await (await fetch(`${r.apiUrl}/v1/health`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as {
          status: string;
          queue: { full: boolean };
        };
        return health.queue.full && health.status === 'failing' ? true : undefined;
      },
      30_000,
      'a full queue in /v1/health',
    );
    // Readings already on their way to disk when the queue filled are still acknowledged; then none.
    await sleep(500);
    const ackedWhileFull = load.acknowledged;
    await sleep(1500);
    expect(load.acknowledged).toBe(ackedWhileFull);
    expect(load.acknowledged).toBeLessThan(total);
    const restarted = Date.now();
    await influxd.restart();
    await load.allAcknowledged(90_000);
    await drained(r.companyId, total, 60_000);
    const drainMs = Date.now() - restarted;
    await sleep(300);
    const count = await stored(r.companyId);
    report('queue full', { published: load.published, ackedWhileFull, acknowledged: load.acknowledged, stored: count, drainMs });
    expect(count).toBe(load.acknowledged);
    await load.close();
    await r.close();
  }, 180_000);

  it('starts while InfluxDB is down, stops cleanly on SIGTERM within the shutdown time, and delivers after the next start', async () => {
    await influxd.kill('SIGTERM');
    const r = await rig({ TESTBED_SHUTDOWN_SECONDS: '2' }, false);
    const load = startLoad({ url: r.mqttUrl, devices: r.devices, perDevice: 200, payload, burst: 20, pauseMs: 5 });
    await load.allAcknowledged(30_000);
    const stopping = Date.now();
    expect(await r.pipeline.kill('SIGTERM')).toBe(0);
    const stopMs = Date.now() - stopping;
    expect(stopMs).toBeLessThan(5000);
    await influxd.restart();
    await r.pipeline.start();
    await drained(r.companyId, DEVICES * 200, 30_000);
    const count = await stored(r.companyId);
    report('sigterm', { acknowledged: load.acknowledged, stored: count, stopMs });
    expect(count).toBe(load.acknowledged);
    await load.close();
    await r.close();
  }, 180_000);
});
