/**
 * Throughput of QoS 1 readings through HAProxy to 1, 2 and 3 gateway nodes
 * (`testbed start` processes), until acknowledged and until stored. The nodes
 * share one registry (a device logs in at whichever node HAProxy picks): a
 * file, or TESTBED_DATABASE_URL's PostgreSQL when given, and what the
 * environment gives them: TESTBED_REDIS_URL and
 * TESTBED_INFLUX_URL; without InfluxDB each node stores
 * on its own embedded store. On one machine the nodes, HAProxy, the engines and
 * the load generator share the same cores: this shows the cost of the cluster,
 * not a speed-up.
 *
 *   npm run bench:cluster -- [--nodes 1,2,3] [--devices 30] [--per-device 1000]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import { startHaproxy, type Haproxy } from '../cli/cluster/haproxy.js';
import { publishWindowed } from './harness.js';

const { values: args } = parseArgs({
  options: { nodes: { type: 'string', default: '1,2,3' }, devices: { type: 'string', default: '30' }, 'per-device': { type: 'string', default: '1000' } },
});
const COUNTS = args.nodes.split(',').map(Number);
const DEVICES = Number(args.devices);
const PER_DEVICE = Number(args['per-device']);
const TOTAL = DEVICES * PER_DEVICE;
const WINDOW = 100;
const ADMIN = 'bench-cluster-admin-token-0123456789';
const BIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'cli', 'testbed.js');
const shared = Object.fromEntries(
  ['TESTBED_DATABASE_URL', 'TESTBED_REDIS_URL', 'TESTBED_INFLUX_URL', 'TESTBED_INFLUX_TOKEN', 'TESTBED_INFLUX_BUCKET', 'TESTBED_INFLUX_ORG']
    .filter((name) => process.env[name])
    .map((name) => [name, process.env[name]!]),
);

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface Node {
  readonly child: ChildProcess;
  readonly api: string;
  readonly mqttPort: number;
  readonly httpPort: number;
}

async function startNode(id: string, dir: string, publicMqtt: string): Promise<Node> {
  const [mqttPort, httpPort] = [await freePort(), await freePort()];
  const env = {
    PATH: process.env.PATH ?? '',
    ...shared,
    TESTBED_NODE_ID: id,
    TESTBED_DATA_DIR: path.join(dir, id),
    // The nodes on this machine share one registry file (SQLite, WAL), unless TESTBED_DATABASE_URL puts it on PostgreSQL.
    TESTBED_REGISTRY_FILE: path.join(dir, 'registry.db'),
    TESTBED_MQTT_PORT: String(mqttPort),
    TESTBED_HTTP_PORT: String(httpPort),
    TESTBED_PUBLIC_MQTT_URL: publicMqtt,
    TESTBED_ADMIN_TOKEN: ADMIN,
    TESTBED_LOG_FORMAT: 'json',
    TESTBED_MQTT_MAX_CONNECTIONS_PER_IP: '100000',
    TESTBED_MQTT_CONNECTS_PER_SECOND_PER_IP: '10000',
    TESTBED_DEVICE_MESSAGES_PER_SECOND: '100000',
  };
  const child = spawn(process.execPath, [BIN, 'start'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('pipeline started')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`node ${id} exited with ${code}: ${out}`)));
  });
  child.stdout!.resume();
  return { child, api: `http://127.0.0.1:${httpPort}`, mqttPort, httpPort };
}

/** The parts of `GET /v1/health` (admin key) the bench reads. */
interface Health {
  readonly store: { readonly kind: string };
  readonly cluster?: { readonly registry: string };
  readonly ingest: { readonly readings: number; readonly stored: number };
}

/** The parts of a creation answer the bench reads. */
interface Created {
  readonly id: string;
  readonly mqtt: { readonly username: string; readonly password: string };
}

async function health(base: string): Promise<Health> {
  return (await fetch(`${base}/v1/health`, { headers: { authorization: `Bearer ${ADMIN}` } })).json() as Promise<Health>;
}

async function adminPost(base: string, p: string, body: unknown): Promise<Created> {
  const res = await fetch(`${base}${p}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status !== 201) throw new Error(`${p}: ${res.status} ${await res.text()}`);
  return res.json() as Promise<Created>;
}

/** QoS 1 from every device through `url`, a sliding window in flight each; resolves with the ms until every PUBACK. */
async function publish(url: string, devices: { id: string; username: string; password: string }[]): Promise<number> {
  const clients = await Promise.all(
    devices.map((d) => mqtt.connectAsync(url, { username: d.username, password: d.password, protocolVersion: 4, reconnectPeriod: 0 })),
  );
  const started = performance.now();
  const base = Date.now() - 3_600_000;
  await Promise.all(
    clients.map((client, i) =>
      publishWindowed(client, `devices/${devices[i]!.id}/readings`, PER_DEVICE, WINDOW, 1, (n) =>
        JSON.stringify({ laeq: 40 + (n % 400) / 10, time: base + n }),
      ),
    ),
  );
  const elapsed = performance.now() - started;
  await Promise.all(clients.map((c) => c.endAsync()));
  return elapsed;
}

async function run(count: number): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-cluster-'));
  const [mqttPort, httpPort] = [await freePort(), await freePort()];
  const nodes: Node[] = [];
  let proxy: Haproxy | undefined;
  try {
    for (let i = 1; i <= count; i++) nodes.push(await startNode(`node-${i}`, dir, `mqtt://127.0.0.1:${mqttPort}`));
    const layout = nodes.map((n, i) => ({ name: `node-${i + 1}`, host: '127.0.0.1', mqttPort: n.mqttPort, httpPort: n.httpPort }));
    proxy = await startHaproxy({ dir, layout: { bind: { host: '127.0.0.1', mqttPort, httpPort }, nodes: layout, checkIntervalMs: 200, maxConnections: 2000 } });
    while (!Object.values(await proxy.servers()).every((s) => s.status === 'UP')) await sleep(100);
    const view = await health(nodes[0]!.api);
    const company = await adminPost(proxy.apiUrl, '/v1/companies', { name: `Bench ${count}` });
    const pilot = await adminPost(proxy.apiUrl, '/v1/pilots', { companyId: company.id, testbedId: 'espoo', name: 'Bench' });
    const devices = [];
    for (let i = 0; i < DEVICES; i++) {
      const d = await adminPost(proxy.apiUrl, `/v1/pilots/${pilot.id}/devices`, { profile: 'noise' });
      devices.push({ id: d.id, username: d.mqtt.username, password: d.mqtt.password });
    }
    const started = performance.now();
    const ackMs = await publish(proxy.mqttUrl, devices);
    const stored = async () => (await Promise.all(nodes.map(async (n) => (await health(n.api)).ingest.stored))).reduce((a, b) => a + b, 0);
    while ((await stored()) < TOTAL) await sleep(20);
    const storedMs = performance.now() - started;
    const perNode = await Promise.all(nodes.map(async (n) => (await health(n.api)).ingest.readings));
    const rate = (ms: number) => Math.round(TOTAL / (ms / 1000));
    return `${count} node(s): ${rate(ackMs)} acknowledged/s, ${rate(storedMs)} stored/s (store ${view.store.kind}, registry ${view.cluster?.registry}, readings per node ${perNode.join('/')})`;
  } finally {
    await proxy?.stop();
    await Promise.all(
      nodes.map(async ({ child }) => {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }),
    );
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

process.stdout.write(`QoS 1 readings through HAProxy: ${DEVICES} devices x ${PER_DEVICE}, ${os.cpus().length} cores shared by everything\n`);
for (const count of COUNTS) process.stdout.write(`${await run(count)}\n`);
