/**
 * Throughput of QoS 1 and QoS 0 readings through the whole pipeline (embedded
 * store, `testbed start` in its own process), against a bare Aedes broker
 * relaying the same load to one subscriber. Prints each run and the medians.
 * With `influx` among `--stores` (the default, when `influxd` is on the PATH),
 * each run also stores the QoS 1 load in InfluxDB (an `influxd` of its own, on
 * the same cores) and prints influxd's CPU beside the gateway's.
 *
 * The load generator is this process: by default raw MQTT frames over `net`
 * sockets (bench/raw-publisher.ts), or one mqtt.js client per device with
 * `--generator mqtt`; its own CPU per reading is printed too. With
 * `--generator mosquitto` it is another program: one `mosquitto_pub -l` per
 * device (Debian's mosquitto-clients), reading its readings from a file, the
 * same window in flight (`-M`); the bare broker's subscriber stays the raw one.
 *
 *   npm run bench -- [--devices 20] [--per-device 6000] [--runs 3] [--stores embedded,influx] [--generator raw|mqtt|mosquitto] [--window 200]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import mqtt, { type MqttClient } from 'mqtt';
import { benchPilot, cpuMs, exitedChildrenCpuMs, ingestCounters, publishWindowed, registerDevices, startPipeline, type Device } from './harness.js';
import { startInfluxd, type BenchInfluxd } from './influxd.js';
import { countPublishes, publishRaw, RawConnection } from './raw-publisher.js';

const { values: args } = parseArgs({
  options: {
    devices: { type: 'string', default: '20' },
    'per-device': { type: 'string', default: '6000' },
    runs: { type: 'string', default: '3' },
    stores: { type: 'string', default: 'embedded,influx' },
    generator: { type: 'string', default: 'raw' },
    window: { type: 'string', default: '200' },
  },
});
const DEVICES = Number(args.devices);
const PER_DEVICE = Number(args['per-device']);
const RUNS = Number(args.runs);
const TOTAL = DEVICES * PER_DEVICE;
const STORES = new Set(args.stores.split(','));
const influxdFound = (process.env.PATH ?? '').split(path.delimiter).some((dir) => dir !== '' && fs.existsSync(path.join(dir, 'influxd')));
const WITH_INFLUX = STORES.has('influx') && influxdFound;
// raw: frames written and read over `net` sockets (bench/raw-publisher.ts); mqtt: one mqtt.js client per device;
// mosquitto: one mosquitto_pub process per device.
const GENERATORS = ['raw', 'mqtt', 'mosquitto'];
if (!GENERATORS.includes(args.generator)) throw new Error(`--generator is one of ${GENERATORS.join(', ')}`);
const RAW = args.generator !== 'mqtt';
const MOSQUITTO = args.generator === 'mosquitto';
/** Readings in flight per device (QoS 1: sent and not yet acknowledged), as a device's stack would keep. */
const WINDOW = Number(args.window);
const here = path.dirname(fileURLToPath(import.meta.url));

/** Starts a node script (the bare broker) and resolves once its output matches `ready`. */
function spawnReady(args: string[], env: Record<string, string>, ready: RegExp): Promise<{ child: ChildProcess; match: RegExpMatchArray }> {
  // BENCH_NODE_ARGS: flags for the server's node (e.g. --cpu-prof, --trace-gc).
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  // BENCH_CHILD_LOG=<file> keeps each server's output (e.g. --trace-gc lines from BENCH_NODE_ARGS).
  if (process.env.BENCH_CHILD_LOG) child.stdout!.pipe(fs.createWriteStream(process.env.BENCH_CHILD_LOG, { flags: 'a' }));
  let out = '';
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const match = out.match(ready);
      if (match) resolve({ child, match });
    });
    child.once('exit', (code) => reject(new Error(`exited with ${code}: ${out}`)));
  });
}

/** Where the load generator's CPU is counted from: this process's, and its exited children's (mosquitto_pub). */
interface GeneratorCpu {
  readonly own: NodeJS.CpuUsage;
  readonly children: number;
}
const generatorCpu = (): GeneratorCpu => ({ own: process.cpuUsage(), children: exitedChildrenCpuMs() });

/** CPU time (ms) the load generator has used since `before`: its clients (this process, or the mosquitto_pub processes), and with the bare broker the subscriber. */
function generatorMs(before: GeneratorCpu): number {
  const used = process.cpuUsage(before.own);
  return (used.user + used.system) / 1000 + (exitedChildrenCpuMs() - before.children);
}

async function stop(child: ChildProcess) {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

/** The n-th reading of a device. */
const payloadOf = (n: number) => JSON.stringify({ pm25: 5 + (n % 50) / 10, pm10: 9 + (n % 70) / 10, time: Date.UTC(2026, 10, 1) + n });

/** A device's readings, one a line, for mosquitto_pub (written once per bench). */
let linesFile: string | undefined;
function readingLines(): string {
  if (linesFile) return linesFile;
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'testbed-bench-lines-')), 'readings.txt');
  fs.writeFileSync(file, Array.from({ length: PER_DEVICE }, (_, n) => `${payloadOf(n)}\n`).join(''));
  process.once('exit', () => fs.rmSync(path.dirname(file), { recursive: true, force: true }));
  return (linesFile = file);
}

/** One mosquitto_pub per device, each publishing the file's lines and exiting once they are sent (QoS 1: acknowledged). */
function publishMosquitto(url: string, devices: Device[], topic: (i: number) => string, qos: 0 | 1): Promise<void> {
  const { hostname, port } = new URL(url);
  const file = readingLines();
  return Promise.all(
    devices.map(
      (d, i) =>
        new Promise<void>((resolve, reject) => {
          const input = fs.openSync(file, 'r');
          const options = ['-h', hostname, '-p', port, '-V', 'mqttv311', '-u', d.username, '-P', d.password, '-t', topic(i), '-q', String(qos)];
          const child = spawn('mosquitto_pub', [...options, '-l', '-M', String(WINDOW)], { stdio: [input, 'ignore', 'pipe'] });
          fs.closeSync(input);
          let err = '';
          child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
          child.once('error', (e: NodeJS.ErrnoException) =>
            reject(e.code === 'ENOENT' ? new Error('--generator mosquitto needs mosquitto_pub on the PATH (Debian: apt-get install mosquitto-clients)') : e),
          );
          child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`mosquitto_pub exited with ${code}: ${err.trim()}`))));
        }),
    ),
  ).then(() => undefined);
}

/**
 * Publishes TOTAL readings from DEVICES clients as fast as they go. Resolves with when the
 * first reading went out (the clients connected: connecting is not timed, except for
 * mosquitto_pub, which connects itself) and the time from then until every PUBACK (QoS 1)
 * or every send (QoS 0).
 */
async function publish(url: string, devices: Device[], qos: 0 | 1): Promise<{ startedAt: number; ackMs: number }> {
  const topic = (i: number) => `devices/${devices[i]!.deviceId}/readings`;
  if (MOSQUITTO) {
    const startedAt = performance.now();
    await publishMosquitto(url, devices, topic, qos);
    return { startedAt, ackMs: performance.now() - startedAt };
  }
  if (RAW) {
    const connections = await Promise.all(devices.map((d) => RawConnection.open(url, d.username, d.password)));
    const startedAt = performance.now();
    // A sliding window: at most WINDOW readings in flight per client, as a device's stack would keep.
    await Promise.all(connections.map((c, i) => publishRaw(c, topic(i), PER_DEVICE, WINDOW, qos, payloadOf)));
    const ackMs = performance.now() - startedAt;
    await Promise.all(connections.map((c) => c.close()));
    return { startedAt, ackMs };
  }
  const clients: MqttClient[] = await Promise.all(
    devices.map((d) => mqtt.connectAsync(url, { username: d.username, password: d.password, protocolVersion: 4, reconnectPeriod: 0 })),
  );
  const startedAt = performance.now();
  await Promise.all(clients.map((client, i) => publishWindowed(client, topic(i), PER_DEVICE, WINDOW, qos, payloadOf)));
  const ackMs = performance.now() - startedAt;
  await Promise.all(clients.map((c) => c.endAsync()));
  return { startedAt, ackMs };
}

/** Subscribes to every device's readings on the bare broker; `onCount` gets the running count of messages relayed. */
async function relaySubscriber(url: string, onCount: (n: number) => void): Promise<{ close(): Promise<void> }> {
  if (RAW) {
    const connection = await RawConnection.open(url, 'bench-subscriber', 'p');
    await connection.subscribe('devices/+/readings');
    countPublishes(connection, onCount);
    return connection;
  }
  const subscriber = await mqtt.connectAsync(url, { protocolVersion: 4 });
  await subscriber.subscribeAsync('devices/+/readings', { qos: 0 });
  let n = 0;
  subscriber.on('message', () => onCount(++n));
  return { close: () => subscriber.endAsync() };
}

async function bareAedes(): Promise<{ ackMs: number; relayedMs: number; cpu: number; gen: number }> {
  const { child, match } = await spawnReady([path.join(here, 'bare-aedes.js')], {}, /ready (\d+)/);
  const url = `mqtt://127.0.0.1:${match[1]}`;
  let received = 0;
  let relayedAt = 0;
  const subscriber = await relaySubscriber(url, (n) => {
    received = n;
    if (n === TOTAL) relayedAt = performance.now();
  });
  const devices = Array.from({ length: DEVICES }, (_, i) => ({ deviceId: `dev_${i}`, username: `u${i}`, password: 'p' }));
  const cpuBefore = cpuMs(child.pid!);
  const genBefore = generatorCpu();
  const { startedAt, ackMs } = await publish(url, devices, 1);
  while (received < TOTAL) await sleep(5);
  const cpu = cpuMs(child.pid!) - cpuBefore;
  const gen = generatorMs(genBefore);
  await subscriber.close();
  await stop(child);
  return { ackMs, relayedMs: relayedAt - startedAt, cpu, gen };
}

async function pipeline(qos: 0 | 1, influx?: BenchInfluxd): Promise<{ ackMs: number; storedMs: number; cpu: number; influxCpu: number; gen: number }> {
  const server = await startPipeline(influx ? { TESTBED_INFLUX_URL: influx.url } : {});
  try {
    const devices = await registerDevices(server.api, await benchPilot(server.api), DEVICES);
    const cpuBefore = cpuMs(server.pid);
    const influxBefore = influx ? cpuMs(influx.pid) : 0;
    const genBefore = generatorCpu();
    const { startedAt, ackMs } = await publish(server.mqtt, devices, qos);
    // Every reading is acknowledged by now (QoS 1) or sent (QoS 0): the rest is the store's last batches.
    while ((await ingestCounters(server.api)).stored < TOTAL) await sleep(5);
    const storedMs = performance.now() - startedAt;
    const cpu = cpuMs(server.pid) - cpuBefore;
    const influxCpu = influx ? cpuMs(influx.pid) - influxBefore : 0;
    return { ackMs, storedMs, cpu, influxCpu, gen: generatorMs(genBefore) };
  } finally {
    await server.stop();
  }
}

/** QoS 1 into InfluxDB: an influxd of its own for the run, on the same cores as everything else. */
async function pipelineInflux(): Promise<{ storedMs: number; cpu: number; influxCpu: number; gen: number }> {
  const influx = await startInfluxd();
  try {
    return await pipeline(1, influx);
  } finally {
    await influx.stop();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const rate = (ms: number) => Math.round(TOTAL / (ms / 1000));
const perReading = (cpu: number) => Math.round((cpu * 1000) / TOTAL);

const results = {
  bare: [] as number[],
  bareAck: [] as number[],
  bareCpu: [] as number[],
  bareGen: [] as number[],
  qos1Ack: [] as number[],
  qos1Stored: [] as number[],
  qos1Cpu: [] as number[],
  qos1Gen: [] as number[],
  qos0Stored: [] as number[],
  qos0Cpu: [] as number[],
  qos0Gen: [] as number[],
  influxStored: [] as number[],
  influxCpu: [] as number[],
  influxdCpu: [] as number[],
  influxdShare: [] as number[],
};
process.stdout.write(
  `${DEVICES} devices x ${PER_DEVICE} readings = ${TOTAL} per run, ${RUNS} runs, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'})\n`,
);
for (let run = 1; run <= RUNS; run++) {
  const bare = await bareAedes();
  const q1 = await pipeline(1);
  const q0 = await pipeline(0);
  const qi = WITH_INFLUX ? await pipelineInflux() : undefined;
  results.bare.push(rate(bare.relayedMs));
  results.bareAck.push(rate(bare.ackMs));
  results.bareCpu.push(perReading(bare.cpu));
  results.bareGen.push(perReading(bare.gen));
  results.qos1Ack.push(rate(q1.ackMs));
  results.qos1Stored.push(rate(q1.storedMs));
  results.qos1Cpu.push(perReading(q1.cpu));
  results.qos1Gen.push(perReading(q1.gen));
  results.qos0Stored.push(rate(q0.storedMs));
  results.qos0Cpu.push(perReading(q0.cpu));
  results.qos0Gen.push(perReading(q0.gen));
  let influxLine = '';
  if (qi) {
    // influxd's share of the machine while the run lasted (100 % = every core).
    const share = Math.round((100 * qi.influxCpu) / (qi.storedMs * os.cpus().length));
    results.influxStored.push(rate(qi.storedMs));
    results.influxCpu.push(perReading(qi.cpu));
    results.influxdCpu.push(perReading(qi.influxCpu));
    results.influxdShare.push(share);
    influxLine = ` | QoS 1 stored in InfluxDB ${rate(qi.storedMs)}/s (gateway ${perReading(qi.cpu)} µs, influxd ${perReading(qi.influxCpu)} µs, ${share} % of the cores)`;
  }
  process.stdout.write(
    `run ${run}: bare Aedes relayed ${rate(bare.relayedMs)}/s (${perReading(bare.cpu)} µs CPU each) | ` +
      `pipeline QoS 1 acknowledged ${rate(q1.ackMs)}/s, stored ${rate(q1.storedMs)}/s (${perReading(q1.cpu)} µs) | ` +
      `QoS 0 stored ${rate(q0.storedMs)}/s (${perReading(q0.cpu)} µs)${influxLine}\n`,
  );
}
const m = Object.fromEntries(Object.entries(results).map(([k, v]) => [k, median(v)])) as Record<keyof typeof results, number>;
process.stdout.write(`
medians                                          readings/s   broker CPU per reading (all threads), load generator's
  bare Aedes, QoS 1 in, relayed to a subscriber  ${String(m.bare).padStart(10)}   ${m.bareCpu} µs, generator ${m.bareGen} µs   (PUBACKs ${m.bareAck}/s)
  pipeline, QoS 1, acknowledged (on disk)         ${String(m.qos1Ack).padStart(10)}
  pipeline, QoS 1, stored                         ${String(m.qos1Stored).padStart(10)}   ${m.qos1Cpu} µs, generator ${m.qos1Gen} µs
  pipeline, QoS 0, stored                         ${String(m.qos0Stored).padStart(10)}   ${m.qos0Cpu} µs, generator ${m.qos0Gen} µs
  cost of the guarantee: QoS 1 / QoS 0 stored     ${(m.qos1Stored / m.qos0Stored).toFixed(2)}
  pipeline QoS 1 stored / bare Aedes relayed      ${(m.qos1Stored / m.bare).toFixed(2)}
${
  WITH_INFLUX
    ? `  pipeline, QoS 1, stored in InfluxDB             ${String(m.influxStored).padStart(10)}   ${m.influxCpu} µs, influxd ${m.influxdCpu} µs (${m.influxdShare} % of the cores)
  InfluxDB QoS 1 stored / bare Aedes relayed      ${(m.influxStored / m.bare).toFixed(2)}
`
    : `  InfluxDB: not measured (${STORES.has('influx') ? 'influxd is not on the PATH' : 'not in --stores'})
`
}`);
