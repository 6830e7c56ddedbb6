import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePorts } from './ports.js';
import { tempDir } from './tmp.js';

/** A real `redis-server` owned by one test file, on 127.0.0.1, keeping nothing on disk. */
export interface RedisServer {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** Kills the server (its data goes: nothing is saved) and waits for it to exit; the port is kept. */
  kill(): Promise<void>;
  /** Starts it again on the same port; resolves once it answers PING. */
  restart(): Promise<void>;
  /** Kills it and removes its folder. Safe to call twice. */
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 10_000;
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Whether a server answers PING on the port. */
async function pong(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.setTimeout(500, () => socket.destroy());
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString().startsWith('+PONG'));
    });
    socket.once('error', () => resolve(false));
    socket.once('close', () => resolve(false));
  });
}

/** Starts `redis-server` (Debian's `redis-server` package) on a free port with persistence off. */
export async function startRedis(): Promise<RedisServer> {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // Never leave a server behind, even when a test run is cut short.
    process.once('exit', () => {
      for (const child of live) child.kill('SIGKILL');
    });
  }
  const tmp = tempDir('testbed-redis-');
  const [port] = (await freePorts(1)) as [number];
  let child: ChildProcess | undefined;
  let exited = Promise.resolve();
  const start = async () => {
    const proc = spawn('redis-server', ['--save', '', '--appendonly', 'no', '--port', String(port), '--bind', '127.0.0.1', '--dir', tmp.dir], {
      stdio: 'ignore',
    });
    child = proc;
    live.add(proc);
    let failed: string | undefined;
    exited = new Promise<void>((resolve) => {
      const gone = (why: string) => {
        failed ??= why;
        live.delete(proc);
        if (child === proc) child = undefined;
        resolve();
      };
      proc.once('exit', (code) => gone(`exited with ${code}`));
      proc.once('error', (err) => gone(`${err.message} (install Debian's redis-server)`));
    });
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (failed) throw new Error(`redis-server ${failed}`);
      if (await pong(port)) return;
      await sleep(25);
    }
    throw new Error(`redis-server did not answer PING within ${START_TIMEOUT_MS} ms`);
  };
  const kill = async () => {
    child?.kill('SIGKILL');
    await exited;
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
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
