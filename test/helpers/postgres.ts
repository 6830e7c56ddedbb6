import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { freePorts } from './ports.js';
import { tempDir } from './tmp.js';

/**
 * A real PostgreSQL server (Debian's `postgresql` package) owned by one test
 * file: its own cluster in a temporary folder, on 127.0.0.1 and a free port,
 * trusting local connections, with fsync off (a test's data need not survive
 * a power cut).
 */
export interface PostgresServer {
  readonly port: number;
  /** A fresh, empty database on this server: its `postgres://` URL. */
  createDatabase(): Promise<string>;
  /** Stops the server at once, as a crash would (SIGQUIT: no checkpoint), and waits for it to exit. Data and port are kept. */
  kill(): Promise<void>;
  /** Starts it again on the same port and data; resolves once it accepts queries. */
  restart(): Promise<void>;
  /** Stops it and removes its folder. Safe to call twice. */
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 30_000;
const USER = 'testbed';
const live = new Set<ChildProcess>();
let exitHookInstalled = false;
let databases = 0;

/** Debian installs each major version's programs under /usr/lib/postgresql/<major>/bin, off the PATH. */
function binDir(): string {
  const root = '/usr/lib/postgresql';
  const majors = fs.existsSync(root) ? fs.readdirSync(root).filter((v) => /^\d+$/.test(v)) : [];
  majors.sort((a, b) => Number(b) - Number(a));
  for (const major of majors) {
    const dir = path.join(root, major, 'bin');
    if (fs.existsSync(path.join(dir, 'initdb'))) return dir;
  }
  throw new Error("PostgreSQL's initdb was not found under /usr/lib/postgresql (install Debian's postgresql: scripts/test.sh does)");
}

/**
 * PostgreSQL refuses to run as root: when the tests run as root, the server
 * runs as the `postgres` user the Debian package creates, and owns its folder.
 */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error("running as root, and there is no postgres user to run PostgreSQL as (install Debian's postgresql)");
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

async function accepts(port: number): Promise<boolean> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: USER, database: 'postgres', connectionTimeoutMillis: 1000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Creates a cluster with `initdb` and starts `postgres` on a free port. */
export async function startPostgres(): Promise<PostgresServer> {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // Never leave a server behind, even when a test run is cut short.
    process.once('exit', () => {
      for (const child of live) child.kill('SIGQUIT');
    });
  }
  const bin = binDir();
  const owner = serverUser();
  const tmp = tempDir('testbed-postgres-');
  const data = path.join(tmp.dir, 'data');
  const socketDir = path.join(tmp.dir, 'sock');
  fs.mkdirSync(socketDir);
  const asOwner: SpawnOptions = owner ? { uid: owner.uid, gid: owner.gid } : {};
  if (owner) {
    for (const dir of [tmp.dir, socketDir]) fs.chownSync(dir, owner.uid, owner.gid);
  }
  const init = spawnSync(path.join(bin, 'initdb'), ['-D', data, '-U', USER, '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions'], {
    ...asOwner,
    encoding: 'utf8',
  });
  if (init.status !== 0) throw new Error(`initdb failed (${init.status ?? init.error?.message}):\n${init.stderr}`);

  const [port] = (await freePorts(1)) as [number];
  let child: ChildProcess | undefined;
  let exited = Promise.resolve();
  const log: string[] = [];
  const start = async () => {
    const args = ['-D', data, '-p', String(port), '-h', '127.0.0.1', '-k', socketDir];
    for (const setting of ['fsync=off', 'full_page_writes=off', 'max_connections=300']) args.push('-c', setting);
    const proc = spawn(path.join(bin, 'postgres'), args, { ...asOwner, stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    live.add(proc);
    proc.stderr?.on('data', (chunk: Buffer) => {
      log.push(...chunk.toString().split('\n').filter(Boolean));
      if (log.length > 40) log.splice(0, log.length - 40);
    });
    let failed: string | undefined;
    exited = new Promise<void>((resolve) => {
      const gone = (why: string) => {
        failed ??= why;
        live.delete(proc);
        if (child === proc) child = undefined;
        resolve();
      };
      proc.once('exit', (code, signal) => gone(`exited (${code ?? signal})`));
      proc.once('error', (err) => gone(err.message));
    });
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (failed) throw new Error(`postgres ${failed}:\n${log.join('\n')}`);
      if (await accepts(port)) return;
      await sleep(50);
    }
    throw new Error(`postgres did not accept connections within ${START_TIMEOUT_MS} ms:\n${log.join('\n')}`);
  };
  const kill = async () => {
    // SIGQUIT: the postmaster stops its backends and exits at once; SIGKILL would leave the backends running.
    child?.kill('SIGQUIT');
    await exited;
  };
  await start();
  return {
    port,
    async createDatabase() {
      databases += 1;
      const name = `testbed_${process.pid}_${databases}`;
      const admin = new pg.Client({ host: '127.0.0.1', port, user: USER, database: 'postgres' });
      await admin.connect();
      try {
        await admin.query(`CREATE DATABASE ${name}`);
      } finally {
        await admin.end();
      }
      return `postgres://${USER}@127.0.0.1:${port}/${name}`;
    },
    kill,
    async restart() {
      await kill();
      await start();
    },
    async stop() {
      await kill();
      tmp.remove();
    },
  };
}
