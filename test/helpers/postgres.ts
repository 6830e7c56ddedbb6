import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePorts } from './ports.js';
import { tempDir } from './tmp.js';

/** A real PostgreSQL server owned by one test file. */
export interface Postgres {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` (trust authentication on 127.0.0.1). */
  readonly url: string;
  /** Stops the server (a fast shutdown), keeping port and data; `restart` brings it back. */
  kill(): Promise<void>;
  /** Stops it if it runs and starts it again on the same port and data. */
  restart(): Promise<void>;
  /** Stops it and removes its folder. Safe to call twice. */
  stop(): Promise<void>;
}

/** Debian keeps the server binaries under /usr/lib/postgresql/<version>/bin. */
function binDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root) ? fs.readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) if (fs.existsSync(path.join(root, v, 'bin', 'postgres'))) return path.join(root, v, 'bin');
  throw new Error('PostgreSQL is not installed (Debian/Ubuntu: apt-get install postgresql)');
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** Runs as the `postgres` user when this process is root (PostgreSQL refuses to run as root). */
function asPostgres(cmd: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
}

/**
 * The server itself runs as our direct child under the `postgres` user's ids
 * (not through runuser), so that a signal, and the kill at exit, reach it.
 */
function serverIdentity(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
  return { uid: id('-u'), gid: id('-g') };
}

/**
 * `initdb` in a fresh temporary folder, then `postgres` on a free port of
 * 127.0.0.1 with its socket in that folder; resolves once it takes connections.
 */
export async function startPostgres(): Promise<Postgres> {
  const bin = binDir();
  const tmp = tempDir('testbed-postgres-');
  fs.chmodSync(tmp.dir, 0o777);
  const data = path.join(tmp.dir, 'data');
  const [initCmd, initArgs] = asPostgres(path.join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  const init = spawnSync(initCmd, initArgs, { encoding: 'utf8' });
  if (init.status !== 0) {
    tmp.remove();
    throw new Error(`initdb failed: ${init.stderr || init.stdout}`);
  }
  const [port] = (await freePorts(1)) as [number];
  let child: ChildProcess | undefined;
  let out = '';
  const start = async () => {
    const args = ['-D', data, '-p', String(port), '-k', tmp.dir, '-h', '127.0.0.1', '-F', '-c', 'max_connections=200'];
    const started = spawn(path.join(bin, 'postgres'), args, { stdio: ['ignore', 'pipe', 'pipe'], ...serverIdentity() });
    child = started;
    live.add(started);
    started.once('exit', () => live.delete(started));
    started.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    started.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const deadline = Date.now() + 15_000;
    while (!out.includes('ready to accept connections')) {
      if (started.exitCode !== null) throw new Error(`postgres exited with ${started.exitCode}:\n${out}`);
      if (Date.now() > deadline) throw new Error(`postgres did not start within 15 s:\n${out}`);
      await sleep(50);
    }
  };
  const kill = async () => {
    const running = child;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    // SIGINT is PostgreSQL's fast shutdown.
    running.kill('SIGINT');
    await exited;
  };
  await start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    kill,
    async restart() {
      await kill();
      out = '';
      await start();
    },
    async stop() {
      await kill();
      tmp.remove();
    },
  };
}
