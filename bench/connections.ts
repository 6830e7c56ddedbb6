/**
 * What connected devices cost the gateway, and how fast a crowd of them gets in:
 *
 * - idle devices: `--connections` authenticated MQTT connections (keepalive
 *   60 s) held open, the gateway's resident memory (VmRSS) read before and
 *   after, a few seconds after each so that its garbage collector settles;
 *   printed as KiB per connection;
 * - a connect storm: `--storm` devices connecting at once (a power cut ends),
 *   the time until every one has CONNACK 0, the median of `--runs`.
 *
 * The clients are raw MQTT frames over `net` sockets in child processes
 * (bench/raw-clients.ts), spread over 127.0.0.2.. source addresses, since one
 * address pair has only ~28,000 ephemeral ports. One process may hold 20,000
 * open files here, the gateway one per connection, hence the default 18,000.
 *
 *   npm run bench:connections -- [--connections 18000] [--storm 10000] [--runs 3] [--children 2] [--addresses 20] [--settle 5]
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { admin, benchPilot, cpuMs, machine, median, registerDevices, rssKiB, startPipeline, type Device } from './harness.js';
import type { ConnectOrder, ConnectReport } from './raw-clients.js';

const { values: args } = parseArgs({
  options: {
    connections: { type: 'string', default: '18000' },
    storm: { type: 'string', default: '10000' },
    runs: { type: 'string', default: '3' },
    children: { type: 'string' },
    addresses: { type: 'string', default: '20' },
    settle: { type: 'string', default: '5' },
  },
});
const CONNECTIONS = Number(args.connections);
const STORM = Number(args.storm);
const RUNS = Number(args.runs);
const CHILDREN = Number(args.children ?? Math.max(1, Math.ceil(Math.max(CONNECTIONS, STORM) / 9000)));
const SETTLE_MS = Number(args.settle) * 1000;
const ADDRESSES = Array.from({ length: Number(args.addresses) }, (_, i) => `127.0.0.${2 + i}`);
const KEEPALIVE = 60;
const here = path.dirname(fileURLToPath(import.meta.url));

/** Sends one message to a child and resolves with its next answer. */
function ask<T>(child: ChildProcess, message: unknown): Promise<T> {
  return new Promise((resolve) => {
    child.once('message', (answer) => resolve(answer as T));
    child.send(message as object);
  });
}

/** Connects the devices, split evenly over the children; resolves with every child's report. */
function connect(children: ChildProcess[], port: number, devices: Device[], concurrency: number): Promise<ConnectReport[]> {
  const share = Math.ceil(devices.length / children.length);
  return Promise.all(
    children.map((child, c) => {
      const order: ConnectOrder = {
        type: 'connect',
        host: '127.0.0.1',
        port,
        localAddresses: ADDRESSES,
        devices: devices.slice(c * share, (c + 1) * share).map(({ username, password }) => ({ username, password })),
        concurrency,
        keepaliveSeconds: KEEPALIVE,
      };
      return ask<ConnectReport>(child, order);
    }),
  );
}

/** Accepted connections and the failures of all children together, as one line. */
function outcome(reports: ConnectReport[]): { accepted: number; text: string } {
  const failed: Record<string, number> = {};
  for (const r of reports) for (const [k, n] of Object.entries(r.failed)) failed[k] = (failed[k] ?? 0) + n;
  const accepted = reports.reduce((sum, r) => sum + r.accepted, 0);
  const failures = Object.entries(failed).map(([k, n]) => `${n} ${k}`);
  return { accepted, text: `${accepted} CONNACK 0${failures.length > 0 ? `; failed: ${failures.join(', ')}` : ''}` };
}

/** Waits until the gateway counts `n` connected devices (or 30 s have passed); answers its count. */
async function connectedDevices(api: string, n: number): Promise<number> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const health = await admin<{ gateway?: { connectedDevices: number } }>(api, 'GET', '/v1/health');
    const count = health.gateway?.connectedDevices ?? -1;
    if (count === n || Date.now() > deadline) return count;
    await sleep(250);
  }
}

const now = () => performance.timeOrigin + performance.now();
const pipeline = await startPipeline({ TESTBED_MQTT_MAX_KEEPALIVE_SECONDS: String(KEEPALIVE * 2) });
const children = Array.from({ length: CHILDREN }, () => fork(path.join(here, 'raw-clients.js'), { stdio: 'inherit' }));
try {
  const port = Number(new URL(pipeline.mqtt).port);
  process.stdout.write(`machine: ${machine()}\ngateway pid ${pipeline.pid}; clients in ${CHILDREN} processes over ${ADDRESSES.length} source addresses\n`);
  const pilotId = await benchPilot(pipeline.api);
  const registering = now();
  const devices = await registerDevices(pipeline.api, pilotId, Math.max(CONNECTIONS, STORM));
  process.stdout.write(`registered ${devices.length} devices in bulk in ${((now() - registering) / 1000).toFixed(1)} s\n`);

  await sleep(SETTLE_MS);
  const before = rssKiB(pipeline.pid);
  const cpuBefore = cpuMs(pipeline.pid);
  const holding = now();
  const held = outcome(await connect(children, port, devices.slice(0, CONNECTIONS), 200));
  const heldMs = now() - holding;
  const holdCpu = (cpuMs(pipeline.pid) - cpuBefore) / Math.max(1, held.accepted);
  const counted = await connectedDevices(pipeline.api, held.accepted);
  await sleep(SETTLE_MS);
  const after = rssKiB(pipeline.pid);
  // Per connection the gateway holds: a connection it closed since (none should) costs it nothing.
  const heldNow = Math.min(held.accepted, counted);
  const perConnection = ((after - before) / heldNow).toFixed(2);
  process.stdout.write(
    `idle: ${held.text} in ${(heldMs / 1000).toFixed(1)} s (200 in flight per client process; gateway CPU ${holdCpu.toFixed(2)} ms per connect); the gateway counts ${counted} connected\n` +
      `  gateway VmRSS ${before} KiB before, ${after} KiB after (${SETTLE_MS / 1000} s settle each): ${perConnection} KiB per connection held\n`,
  );

  const storms: number[] = [];
  for (let run = 1; run <= RUNS; run++) {
    const lost = (await Promise.all(children.map((c) => ask<{ lost: number }>(c, { type: 'drop' })))).reduce((sum, d) => sum + d.lost, 0);
    if (lost > 0) process.stdout.write(`  ${lost} accepted connections were closed by the gateway before the clients dropped them\n`);
    await connectedDevices(pipeline.api, 0);
    const cpuBefore = cpuMs(pipeline.pid);
    const started = now();
    const reports = await connect(children, port, devices.slice(0, STORM), 0);
    const storm = outcome(reports);
    const allMs = Math.max(...reports.map((r) => r.lastAt)) - started;
    // CPU per connect tells a gateway that is slow apart from one that is starved of the cores.
    const cpu = (cpuMs(pipeline.pid) - cpuBefore) / Math.max(1, storm.accepted);
    if (storm.accepted === STORM) storms.push(allMs);
    process.stdout.write(
      `storm run ${run}: ${STORM} devices at once: ${storm.text}; last CONNACK after ${(allMs / 1000).toFixed(2)} s; gateway CPU ${cpu.toFixed(2)} ms per connect\n`,
    );
  }
  process.stdout.write(
    `\n${heldNow} idle connections: ${perConnection} KiB of gateway RSS each\n` +
      `${STORM} devices connecting at once: all CONNACK 0 after ${storms.length > 0 ? (median(storms) / 1000).toFixed(2) : '-'} s (median of ${storms.length} complete runs of ${RUNS})\n`,
  );
} finally {
  for (const c of children) if (c.connected) c.send({ type: 'exit' });
  await pipeline.stop();
}
