import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { haproxyConfig, type HaproxyLayout } from './haproxy-config.js';

/** Debian's path; HAPROXY_BIN or PATH otherwise. */
const DEFAULT_BIN = '/usr/sbin/haproxy';

/** One server of a backend, from HAProxy's `show stat`. */
export interface ServerState {
  /** `UP`, `DOWN`, or a transition such as `UP 1/2`. */
  readonly status: string;
  /** Connections open to it now. */
  readonly sessions: number;
}

/** A running HAProxy in front of gateway nodes. */
export interface Haproxy {
  readonly mqttUrl: string;
  readonly apiUrl: string;
  /** The generated configuration file. */
  readonly configFile: string;
  /** Each server as HAProxy sees it now, by `backend/server`, e.g. `mqtt_nodes/n1`: `UP` or `DOWN`, and its open connections. */
  servers(): Promise<Record<string, ServerState>>;
  /** Everything it has printed. */
  output(): string;
  /** Stops it and waits for it to exit. Safe to call twice. */
  stop(): Promise<void>;
}

export interface HaproxyOptions {
  /** Where its configuration and stats socket go. */
  readonly dir: string;
  readonly layout: Omit<HaproxyLayout, 'statsSocket'>;
  /** The haproxy binary. */
  readonly bin?: string | undefined;
}

function findBin(explicit: string | undefined): string {
  if (explicit) return explicit;
  if (fs.existsSync(DEFAULT_BIN)) return DEFAULT_BIN;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const file = path.join(dir || '.', 'haproxy');
    if (fs.existsSync(file)) return file;
  }
  throw new Error('haproxy is not installed (Debian/Ubuntu: apt-get install haproxy)');
}

/**
 * Writes the configuration of `haproxyConfig` into `dir` and runs `haproxy -db`
 * (in the foreground, so it ends with this process's child); resolves once both
 * frontends accept connections.
 */
export async function startHaproxy(options: HaproxyOptions): Promise<Haproxy> {
  const bin = findBin(options.bin);
  const statsSocket = path.join(options.dir, 'haproxy.sock');
  const configFile = path.join(options.dir, 'haproxy.cfg');
  fs.writeFileSync(configFile, haproxyConfig({ ...options.layout, statsSocket }));
  const child = spawn(bin, ['-f', configFile, '-db'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-20_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const { host, mqttPort, httpPort } = options.layout.bind;
  try {
    await untilListening(child, host, [mqttPort, httpPort], () => out);
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    throw err;
  }
  const h = host.includes(':') ? `[${host}]` : host;
  return {
    mqttUrl: `mqtt://${h}:${mqttPort}`,
    apiUrl: `http://${h}:${httpPort}`,
    configFile,
    servers: () => servers(statsSocket),
    output: () => out,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const done = await Promise.race([exited.then(() => true), sleep(5000, false)]);
      if (!done) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}

async function untilListening(child: ChildProcess, host: string, ports: number[], log: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`haproxy exited with ${child.exitCode}:\n${log()}`);
    const open = await Promise.all(ports.map((port) => accepts(host, port)));
    if (open.every(Boolean)) return;
    if (Date.now() > deadline) throw new Error(`haproxy did not listen on ${ports.join(', ')} within 10 s:\n${log()}`);
    await sleep(50);
  }
}

function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** `show stat` over the stats socket: every server's status and open connections, by `pxname/svname`. */
async function servers(socketPath: string): Promise<Record<string, ServerState>> {
  const csv = await new Promise<string>((resolve, reject) => {
    let text = '';
    const socket = net.connect(socketPath, () => socket.end('show stat\n'));
    socket.on('data', (d: Buffer) => (text += d.toString()));
    socket.once('end', () => resolve(text));
    socket.once('error', reject);
  });
  const [header = '', ...rows] = csv.trim().split('\n');
  const columns = header.replace(/^# /, '').split(',');
  const at = (name: string) => columns.indexOf(name);
  const states: Record<string, ServerState> = {};
  for (const row of rows) {
    const cells = row.split(',');
    const [px, sv, status, sessions] = [cells[at('pxname')], cells[at('svname')], cells[at('status')], cells[at('scur')]];
    if (sv === 'FRONTEND' || sv === 'BACKEND' || px === undefined || status === undefined) continue;
    states[`${px}/${sv}`] = { status, sessions: Number(sessions ?? 0) };
  }
  return states;
}
