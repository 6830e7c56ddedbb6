import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePorts } from './ports.js';
import { tempDir } from './tmp.js';

/** A real `influxd` (InfluxDB 1.x) owned by one test file. */
export interface Influxd {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** What `/ping` reports in `X-Influxdb-Version`, e.g. `1.6.7~rc0`. */
  readonly version: string;
  /** The admin user, when started with `auth`. */
  readonly admin: { readonly username: string; readonly password: string } | undefined;
  /** True while the process runs (paused or not). */
  readonly running: boolean;
  /** Raw InfluxQL over `/query` (as the admin, when auth is on): the answer's JSON. POST for CREATE/DROP/GRANT. */
  query(q: string, options?: { db?: string; method?: 'GET' | 'POST' }): Promise<unknown>;
  /** Stops the server (SIGTERM: a clean shutdown; SIGKILL: a crash) and waits for it to exit. Data and port are kept. */
  kill(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** Starts it again on the same port and data (stopping it first if it runs); resolves once `/ping` answers. */
  restart(): Promise<void>;
  /**
   * SIGSTOP: the server keeps its sockets but answers nothing, so requests hang until they time out.
   * Resolves once every thread of the process is stopped: the signal is only queued when kill(2) returns.
   */
  pause(): Promise<void>;
  /** SIGCONT after `pause`. */
  resume(): void;
  /** Kills the server, waits for it to exit and removes its folder. Safe to call twice. */
  stop(): Promise<void>;
}

export interface InfluxdOptions {
  /** Turn on `auth-enabled` and create this admin user. */
  readonly auth?: { readonly username: string; readonly password: string };
}

const START_TIMEOUT_MS = 15_000;
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Where `influxd` is; a missing binary fails the test with what to install. */
function findInfluxd(): string {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const file = path.join(dir || '.', 'influxd');
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  throw new Error(
    'influxd is not on PATH. The InfluxDB store tests run against a real InfluxDB 1.x server; ' +
      'install it (Debian/Ubuntu: `apt-get install influxdb`) or put the influxd binary on PATH.',
  );
}

/** Every listener on 127.0.0.1, everything that phones home or writes on its own turned off. */
function configFile(dir: string, httpPort: number, rpcPort: number, auth: boolean): string {
  const q = (p: string) => JSON.stringify(path.join(dir, p));
  // Upstream names the switch reporting-disabled; Debian's build, reporting-enabled. Each ignores the other.
  return `reporting-disabled = true
reporting-enabled = false
bind-address = "127.0.0.1:${rpcPort}"
[meta]
  dir = ${q('meta')}
  logging-enabled = false
[data]
  dir = ${q('data')}
  wal-dir = ${q('wal')}
  query-log-enabled = false
[monitor]
  store-enabled = false
[http]
  enabled = true
  bind-address = "127.0.0.1:${httpPort}"
  auth-enabled = ${auth}
  log-enabled = false
  pprof-enabled = false
[logging]
  level = "warn"
  suppress-logo = true
[subscriber]
  enabled = false
[continuous_queries]
  enabled = false
[[udp]]
  enabled = false
[[graphite]]
  enabled = false
`;
}

/**
 * Starts `influxd` in a fresh temporary folder with a generated config: HTTP and
 * the RPC (backup/restore) listener on free ports of 127.0.0.1, reporting and the
 * `_internal` monitor store off. Resolves once `/ping` answers.
 */
export async function startInfluxd(options: InfluxdOptions = {}): Promise<Influxd> {
  const bin = findInfluxd();
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // Never leave a server behind, even when a test run is cut short.
    process.once('exit', () => {
      for (const child of live) child.kill('SIGKILL');
    });
  }
  const tmp = tempDir('testbed-influxd-');
  let lastError: unknown;
  // A port found free can be taken by someone else before influxd binds it: try again with new ones.
  for (let attempt = 1; attempt <= 3; attempt++) {
    const [httpPort, rpcPort] = (await freePorts(2)) as [number, number];
    const file = path.join(tmp.dir, 'influxdb.conf');
    fs.writeFileSync(file, configFile(tmp.dir, httpPort, rpcPort, options.auth !== undefined));
    const server = new Server(bin, file, httpPort, options.auth, tmp.remove);
    try {
      await server.start();
      if (options.auth) await server.createAdmin();
      return server;
    } catch (err) {
      lastError = err;
      await server.kill('SIGKILL');
    }
  }
  tmp.remove();
  throw lastError;
}

class Server implements Influxd {
  readonly url: string;
  version = '';
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #paused = false;
  #log: string[] = [];

  constructor(
    readonly bin: string,
    readonly configPath: string,
    readonly port: number,
    readonly admin: { readonly username: string; readonly password: string } | undefined,
    readonly removeDir: () => void,
  ) {
    this.url = `http://127.0.0.1:${port}`;
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  async start(): Promise<void> {
    const child = spawn(this.bin, ['-config', this.configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    live.add(child);
    let exitCode: number | string | null | undefined;
    this.#exited = new Promise<void>((resolve) => {
      const gone = (code: number | string | null) => {
        exitCode ??= code;
        live.delete(child);
        if (this.#child === child) this.#child = undefined;
        resolve();
      };
      child.once('exit', gone);
      // Could not be started at all (no 'exit' follows).
      child.once('error', (err) => gone(err.message));
    });
    // Keep the last lines of its log for the error message, and keep the pipes drained.
    const keep = (chunk: Buffer) => {
      this.#log.push(...chunk.toString().split('\n').filter(Boolean));
      if (this.#log.length > 40) this.#log.splice(0, this.#log.length - 40);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);

    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (exitCode !== undefined) throw new Error(`influxd exited (${exitCode}) while starting:\n${this.#log.join('\n')}`);
      try {
        const res = await fetch(`${this.url}/ping`, { signal: AbortSignal.timeout(1000) });
        if (res.status === 204) {
          this.version = res.headers.get('x-influxdb-version') ?? '';
          return;
        }
      } catch {
        // not listening yet
      }
      await sleep(25);
    }
    throw new Error(`influxd did not answer /ping within ${START_TIMEOUT_MS} ms:\n${this.#log.join('\n')}`);
  }

  /** InfluxDB 1.x lets anyone create the first user, which must be an admin. */
  async createAdmin(): Promise<void> {
    const { username, password } = this.admin!;
    await this.query(`CREATE USER "${username}" WITH PASSWORD '${password}' WITH ALL PRIVILEGES`, { method: 'POST' });
  }

  async query(q: string, options: { db?: string; method?: 'GET' | 'POST' } = {}): Promise<unknown> {
    const params = new URLSearchParams({ q, epoch: 'ms' });
    if (options.db) params.set('db', options.db);
    if (this.admin) {
      params.set('u', this.admin.username);
      params.set('p', this.admin.password);
    }
    const method = options.method ?? 'GET';
    // In the URL for POST too: influxd reads `u`/`p` from the URL only.
    const res = await fetch(`${this.url}/query?${params}`, { method, signal: AbortSignal.timeout(10_000) });
    const body: unknown = await res.json();
    if (!res.ok) throw new Error(`influxd answered ${res.status} to ${q}: ${JSON.stringify(body)}`);
    return body;
  }

  async kill(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const child = this.#child;
    if (!child) return;
    child.kill(signal);
    if (this.#paused) this.resume(); // a stopped process acts on SIGTERM only once it runs again
    const killed = await Promise.race([this.#exited.then(() => true), sleep(10_000, false)]);
    if (!killed) {
      child.kill('SIGKILL');
      await this.#exited;
    }
    this.#paused = false;
  }

  async restart(): Promise<void> {
    await this.kill();
    await this.start();
  }

  async pause(): Promise<void> {
    const child = this.#child;
    if (!child || this.#paused) return;
    child.kill('SIGSTOP');
    this.#paused = true;
    const deadline = Date.now() + 5_000;
    while (!allThreadsStopped(child.pid!)) {
      if (Date.now() > deadline) throw new Error(`influxd (pid ${child.pid}) did not stop within 5 s of SIGSTOP`);
      await sleep(2);
    }
  }

  resume(): void {
    if (!this.#child || !this.#paused) return;
    this.#child.kill('SIGCONT');
    this.#paused = false;
  }

  async stop(): Promise<void> {
    await this.kill('SIGKILL');
    this.removeDir();
  }
}

/** True when every thread of `pid` is in the stopped state (`T`), read from /proc. */
function allThreadsStopped(pid: number): boolean {
  const tasks = fs.readdirSync(`/proc/${pid}/task`);
  return tasks.every((tid) => {
    const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    // The state follows the command name, which is in parentheses and may itself hold spaces.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'T';
  });
}
