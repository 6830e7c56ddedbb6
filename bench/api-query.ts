/**
 * Queries over a large history: `--readings` readings from `--devices`
 * devices spread over `--days` days, loaded through the pipeline over MQTT
 * (QoS 1), once into InfluxDB and once into the embedded store. Then, for each:
 *
 * - a 1-hour-window mean over the whole range through the API, for the pilot
 *   (every device) and for one device; with InfluxDB, the same InfluxQL sent
 *   straight to influxd beside it (read from influxd's query log as the
 *   gateway sent it), and the ratio;
 * - a CSV export of the pilot's whole range, in rows per second.
 *
 * Medians of `--runs`, after one warm-up each.
 *
 *   npm run bench:api -- [--readings 1000000] [--devices 100] [--days 10] [--runs 5] [--stores influx,embedded]
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import {
  ADMIN,
  benchPilot,
  cpuMs,
  ingestCounters,
  machine,
  median,
  publishWindowed,
  registerDevices,
  startPipeline,
  type Device,
  type Pipeline,
} from './harness.js';
import { startInfluxd, type BenchInfluxd } from './influxd.js';

const { values: args } = parseArgs({
  options: {
    readings: { type: 'string', default: '1000000' },
    devices: { type: 'string', default: '100' },
    days: { type: 'string', default: '10' },
    runs: { type: 'string', default: '5' },
    stores: { type: 'string', default: 'influx,embedded' },
  },
});
const DEVICES = Number(args.devices);
const PER_DEVICE = Math.floor(Number(args.readings) / DEVICES);
const TOTAL = PER_DEVICE * DEVICES;
const RANGE_MS = Number(args.days) * 86_400_000;
const RUNS = Number(args.runs);
const HOUR = 3_600_000;
// Whole hours, ending an hour ago: inside the accepted age and never in the future.
const FROM = Math.floor((Date.now() - RANGE_MS - HOUR) / HOUR) * HOUR;
const TO = FROM + RANGE_MS;
const STEP_MS = Math.max(1, Math.floor(RANGE_MS / PER_DEVICE));
const WINDOW = 200;

const now = () => performance.now();
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** Publishes every device's readings, oldest first, at most WINDOW unacknowledged per device; then waits until all are stored. */
async function load(pipeline: Pipeline, devices: Device[]): Promise<number> {
  const started = now();
  await Promise.all(
    devices.map(async (d) => {
      const client = await mqtt.connectAsync(pipeline.mqtt, { username: d.username, password: d.password, protocolVersion: 4, reconnectPeriod: 0 });
      const topic = `devices/${d.deviceId}/readings`;
      await publishWindowed(client, topic, PER_DEVICE, WINDOW, 1, (n) =>
        JSON.stringify({ pm25: 5 + (n % 50) / 10, pm10: 9 + (n % 70) / 10, time: FROM + n * STEP_MS }),
      );
      await client.endAsync();
    }),
  );
  let last = -1;
  let stalledSince = now();
  for (;;) {
    const { stored } = await ingestCounters(pipeline.api);
    if (stored >= TOTAL) break;
    if (stored !== last) [last, stalledSince] = [stored, now()];
    else if (now() - stalledSince > 60_000) throw new Error(`only ${stored} of ${TOTAL} readings stored; none more in 60 s`);
    await sleep(200);
  }
  return now() - started;
}

/** Times one GET through the API as the admin, the whole answer read; answers ms and the size of the answer. */
async function timedGet(url: string, headers: Record<string, string> = { authorization: `Bearer ${ADMIN}` }): Promise<{ ms: number; text: string }> {
  const started = now();
  const res = await fetch(url, { headers });
  const text = await res.text();
  if (!res.ok) throw new Error(`GET ${url}: ${res.status} ${text.slice(0, 300)}`);
  return { ms: now() - started, text };
}

/** The statements, sent straight to influxd one after another as the gateway sends them, each answer parsed. */
async function direct(influx: BenchInfluxd, statements: string[]): Promise<number> {
  const started = now();
  for (const q of statements) {
    const res = await fetch(`${influx.url}/query?db=testbed&epoch=ms&q=${encodeURIComponent(q)}`);
    JSON.parse(await res.text());
    if (!res.ok) throw new Error(`influxd: ${res.status}`);
  }
  return now() - started;
}

/** Times a CSV export read to its end as it streams; answers ms and its rows (its lines less the header). */
async function timedCsv(url: string): Promise<{ ms: number; rows: number }> {
  const started = now();
  const res = await fetch(url, { headers: { authorization: `Bearer ${ADMIN}` } });
  if (!res.ok || !res.body) throw new Error(`GET ${url}: ${res.status} ${await res.text()}`);
  let lines = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) for (const byte of chunk) if (byte === 0x0a) lines++;
  return { ms: now() - started, rows: lines - 1 };
}

/** The 1-hour mean through the API, and with InfluxDB the same statements straight to influxd: the lines to print. */
async function aggregate(name: string, url: string, influx: BenchInfluxd | undefined): Promise<string[]> {
  influx?.takeQueries();
  const warm = await timedGet(url);
  const windows = (JSON.parse(warm.text) as { aggregates: unknown[] }).aggregates.length;
  const statements = influx?.takeQueries().filter((q) => /^\s*(SELECT|SHOW)/i.test(q)) ?? [];
  const api: number[] = [];
  const straight: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    api.push((await timedGet(url)).ms);
    if (influx) straight.push(await direct(influx, statements));
  }
  const line = `  1 h mean, ${name}, ${windows} rows: API ${median(api).toFixed(1)} ms`;
  if (!influx) return [line];
  return [
    `${line}; same InfluxQL straight to influxd ${median(straight).toFixed(1)} ms (${statements.length} statement(s)); API / direct ${(median(api) / median(straight)).toFixed(2)}`,
    ...statements.map((q) => `    ${q.length > 200 ? `${q.slice(0, 200)}...` : q}`),
  ];
}

async function bench(store: 'influx' | 'embedded'): Promise<string[]> {
  const influx = store === 'influx' ? await startInfluxd() : undefined;
  const pipeline = await startPipeline(influx ? { TESTBED_INFLUX_URL: influx.url } : {});
  const out: string[] = [];
  try {
    const pilotId = await benchPilot(pipeline.api);
    const devices = await registerDevices(pipeline.api, pilotId, DEVICES);
    const cpu = [cpuMs(pipeline.pid), influx ? cpuMs(influx.pid) : 0];
    const loadMs = await load(pipeline, devices);
    const cpuShare = influx ? ` (CPU: gateway ${seconds(cpuMs(pipeline.pid) - cpu[0]!)}, influxd ${seconds(cpuMs(influx.pid) - cpu[1]!)})` : '';
    out.push(`${store}: loaded ${TOTAL} readings over MQTT in ${seconds(loadMs)}: ${Math.round(TOTAL / (loadMs / 1000))}/s stored${cpuShare}`);
    const range = `from=${FROM}&to=${TO}`;
    const targets = [
      { name: `pilot (${DEVICES} devices)`, url: `${pipeline.api}/v1/pilots/${pilotId}/aggregates?every=1h&fn=mean&${range}` },
      { name: 'one device', url: `${pipeline.api}/v1/devices/${devices[0]!.deviceId}/aggregates?every=1h&fn=mean&${range}` },
    ];
    for (const t of targets) {
      try {
        out.push(...(await aggregate(t.name, t.url, influx)));
      } catch (err) {
        out.push(`  1 h mean, ${t.name}: ${(err as Error).message}`);
      }
    }
    const csvUrl = `${pipeline.api}/v1/pilots/${pilotId}/readings?format=csv&${range}`;
    const csv: { ms: number; rows: number }[] = [];
    try {
      for (let r = 0; r < Math.min(RUNS, 3); r++) csv.push(await timedCsv(csvUrl));
    } catch (err) {
      out.push(`  CSV export: ${(err as Error).message}`);
    }
    const rows = csv[0]?.rows ?? 0;
    if (csv.length > 0)
      out.push(
        `  CSV export of the pilot's whole range: ${rows} rows, ${Math.round(rows / (median(csv.map((c) => c.ms)) / 1000))} rows/s (median of ${csv.length})`,
      );
  } finally {
    await pipeline.stop();
    await influx?.stop();
  }
  return out;
}

process.stdout.write(
  `machine: ${machine()}\n${TOTAL} readings: ${DEVICES} devices x ${PER_DEVICE}, one every ${STEP_MS} ms over ${args.days} days; medians of ${RUNS} runs\n`,
);
for (const store of args.stores.split(',') as ('influx' | 'embedded')[]) process.stdout.write(`${(await bench(store)).join('\n')}\n`);
