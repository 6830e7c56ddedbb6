import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePorts } from './ports.js';

/** A real Redis server owned by one test file, with nothing kept on disk. */
export interface Redis {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  /** Stops the server, keeping its port; `restart` brings it back (empty). */
  kill(): Promise<void>;
  /** Stops it if it runs and starts it again on the same port. */
  restart(): Promise<void>;
  /** Stops it. Safe to call twice. */
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => socket.write('PING\r\n'));
    socket.once('data', (d: Buffer) => {
      socket.destroy();
      resolve(d.toString().startsWith('+PONG'));
    });
    socket.once('error', () => resolve(false));
  });
}

/** Debian's `redis-server` on a free port of 127.0.0.1, no snapshots, no append-only file. */
export async function startRedis(): Promise<Redis> {
  const [port] = (await freePorts(1)) as [number];
  let child: ChildProcess | undefined;
  let out = '';
  const start = async () => {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', '/tmp'];
    const started = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = started;
    live.add(started);
    started.once('exit', () => live.delete(started));
    started.once('error', (err) => (out += err.message));
    started.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    started.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const deadline = Date.now() + 10_000;
    while (!(await answersPing(port))) {
      if (started.exitCode !== null) throw new Error(`redis-server exited with ${started.exitCode}:\n${out}`);
      if (Date.now() > deadline) throw new Error(`redis-server did not answer PING within 10 s:\n${out}`);
      await sleep(50);
    }
  };
  const kill = async () => {
    const running = child;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGTERM');
    await exited;
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    kill,
    async restart() {
      await kill();
      await start();
    },
    stop: kill,
  };
}
