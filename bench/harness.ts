/**
 * What the latency, connections and API benches share: `testbed start` in its
 * own process, the admin's requests, devices registered in bulk, the machine
 * they ran on, and percentiles.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MqttClient } from 'mqtt';

export const ADMIN = 'bench-admin-token-0123456789abcdef';
const here = path.dirname(fileURLToPath(import.meta.url));
/** What one bulk registration may hold (the API's MAX_BULK_DEVICES). */
const BULK = 1000;

/** A device's MQTT identity, as registration answers it. */
export interface Device {
  readonly deviceId: string;
  readonly username: string;
  readonly password: string;
}

/** A running `testbed start`. */
export interface Pipeline {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly mqtt: string;
  readonly api: string;
  readonly dataDir: string;
  stop(): Promise<void>;
}

/** "2 cores, AMD EPYC, 7.7 GiB": what every bench prints beside its figures. */
export function machine(): string {
  const cpus = os.cpus();
  return `${cpus.length} cores, ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}, load ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`;
}

/**
 * Starts `testbed start` on free ports in a fresh data folder and resolves once
 * its "pipeline started" line is out. The per-device and per-address limits are
 * lifted: a bench exceeds them on purpose. `env` adds or overrides variables.
 */
export function startPipeline(env: Record<string, string> = {}): Promise<Pipeline> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'testbed-bench-'));
  // BENCH_NODE_ARGS: flags for the server's node (e.g. --cpu-prof, --trace-gc).
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, path.join(here, '..', 'cli', 'testbed.js'), 'start'], {
    env: {
      PATH: process.env.PATH ?? '',
      TESTBED_DATA_DIR: dataDir,
      TESTBED_MQTT_PORT: '0',
      TESTBED_HTTP_PORT: '0',
      TESTBED_ADMIN_TOKEN: ADMIN,
      TESTBED_LOG_LEVEL: 'info',
      TESTBED_DEVICE_MESSAGES_PER_SECOND: '1000000',
      TESTBED_MQTT_CONNECTS_PER_SECOND_PER_IP: '1000000',
      TESTBED_MQTT_MAX_CONNECTIONS_PER_IP: '1000000',
      TESTBED_MQTT_MAX_CONNECTIONS: '1000000',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  // BENCH_CHILD_LOG=<file> keeps the gateway's output (e.g. --trace-gc lines from BENCH_NODE_ARGS).
  if (process.env.BENCH_CHILD_LOG) child.stdout!.pipe(fs.createWriteStream(process.env.BENCH_CHILD_LOG, { flags: 'a' }));
  let out = '';
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.includes('"msg":"pipeline started"'));
      if (!line) return;
      child.stdout!.off('data', onData);
      // Keep reading so that a full pipe never blocks the gateway's logger.
      child.stdout!.resume();
      const { mqtt, url } = JSON.parse(line) as { mqtt: string; url: string };
      const stop = async () => {
        if (child.exitCode === null) {
          const exited = new Promise((r) => child.once('exit', r));
          child.kill('SIGTERM');
          await exited;
        }
        fs.rmSync(dataDir, { recursive: true, force: true });
      };
      resolve({ child, pid: child.pid!, mqtt, api: url, dataDir, stop });
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`testbed start exited with ${code}: ${out}`)));
  });
}

/**
 * Publishes `count` messages on `topic` (the n-th payload is `payload(n)`),
 * at most `window` unacknowledged at once, as a device's MQTT stack keeps a
 * window in flight; resolves once every one is acknowledged (QoS 1) or
 * written (QoS 0).
 */
export function publishWindowed(client: MqttClient, topic: string, count: number, window: number, qos: 0 | 1, payload: (n: number) => string): Promise<void> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let done = 0;
    const next = () => {
      if (done === count) return resolve();
      while (sent < count && sent - done < window) {
        client.publish(topic, payload(sent++), { qos }, (err) => {
          if (err) return reject(err);
          done++;
          next();
        });
      }
    };
    next();
  });
}

/** A request as the admin; answers the parsed JSON, or throws with the status and body. */
export async function admin<T>(api: string, method: string, p: string, body?: unknown): Promise<T> {
  const res = await fetch(`${api}${p}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${text.slice(0, 500)}`);
  return JSON.parse(text) as T;
}

/** A company and a pilot in it; answers the pilot's id. */
export async function benchPilot(api: string): Promise<string> {
  const company = await admin<{ id: string }>(api, 'POST', '/v1/companies', { name: 'Bench Oy' });
  const pilot = await admin<{ id: string }>(api, 'POST', '/v1/pilots', { companyId: company.id, testbedId: 'espoo', name: 'Bench' });
  return pilot.id;
}

/** Registers `count` devices of a profile in bulk requests of at most a thousand; answers their credentials. */
export async function registerDevices(api: string, pilotId: string, count: number, profile = 'air-quality'): Promise<Device[]> {
  const devices: Device[] = [];
  for (let i = 0; i < count; i += BULK) {
    const n = Math.min(BULK, count - i);
    const body = { devices: Array.from({ length: n }, () => ({ profile })) };
    const created = await admin<{ devices: { id: string; mqtt: { username: string; password: string } }[] }>(
      api,
      'POST',
      `/v1/pilots/${pilotId}/devices/bulk`,
      body,
    );
    for (const d of created.devices) devices.push({ deviceId: d.id, username: d.mqtt.username, password: d.mqtt.password });
  }
  return devices;
}

/** The ingest counters of /v1/health (the admin sees them). */
export async function ingestCounters(api: string): Promise<{ stored: number; rejected?: number }> {
  return (await admin<{ ingest: { stored: number; rejected?: number } }>(api, 'GET', '/v1/health')).ingest;
}

/** The q-quantile (0..1) of sorted numbers, nearest rank. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export const median = (xs: readonly number[]): number =>
  quantile(
    [...xs].sort((a, b) => a - b),
    0.5,
  );

/** A process's resident memory in KiB (VmRSS of /proc/<pid>/status). */
export function rssKiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]);
}

/** CPU time (user + system, all threads) a process has used so far, in ms, from /proc/<pid>/stat. */
export function cpuMs(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

/** CPU time (ms) of this process's children that have exited and been waited for (user + system), from /proc. */
export function exitedChildrenCpuMs(): number {
  const fields = fs.readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / 100;
}
