/**
 * An `influxd` (InfluxDB 1.x) for the API bench, in a temporary folder, with
 * its query log on: the bench reads from it the very InfluxQL the gateway sent,
 * to send the same query straight to the server.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface BenchInfluxd {
  readonly url: string;
  readonly pid: number;
  /** The statements the server has executed since the last call, oldest first. */
  takeQueries(): string[];
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The value of `query="..."` in one logfmt line of influxd's query log, unescaped. */
function queryOf(line: string): string | undefined {
  const match = /msg="Executing query".*?query="((?:[^"\\]|\\.)*)"/.exec(line);
  return match ? match[1]!.replace(/\\(.)/g, '$1') : undefined;
}

/** Starts influxd on free ports (HTTP and RPC on 127.0.0.1, nothing reported home); resolves once /ping answers. */
export async function startInfluxd(): Promise<BenchInfluxd> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'testbed-bench-influxd-'));
  const [httpPort, rpcPort] = [await freePort(), await freePort()];
  const at = (p: string) => JSON.stringify(path.join(dir, p));
  const config = path.join(dir, 'influxd.conf');
  // Upstream spells the switch reporting-disabled, Debian's build reporting-enabled; each ignores the other.
  fs.writeFileSync(
    config,
    `reporting-disabled = true\nreporting-enabled = false\nbind-address = "127.0.0.1:${rpcPort}"\n` +
      `[meta]\n  dir = ${at('meta')}\n  logging-enabled = false\n` +
      `[data]\n  dir = ${at('data')}\n  wal-dir = ${at('wal')}\n  query-log-enabled = true\n` +
      `[monitor]\n  store-enabled = false\n` +
      `[http]\n  enabled = true\n  bind-address = "127.0.0.1:${httpPort}"\n  log-enabled = false\n`,
  );
  const child = spawn('influxd', ['-config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let queries: string[] = [];
  let partial = '';
  const onLog = (d: Buffer) => {
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) {
      const q = queryOf(l);
      if (q !== undefined) queries.push(q);
    }
  };
  child.stdout.on('data', onLog);
  child.stderr.on('data', onLog);
  const url = `http://127.0.0.1:${httpPort}`;
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 150; i++) {
    if (child.exitCode !== null) break;
    try {
      if ((await fetch(`${url}/ping`, { signal: AbortSignal.timeout(1000) })).ok)
        return {
          url,
          pid: child.pid!,
          takeQueries: () => {
            const taken = queries;
            queries = [];
            return taken;
          },
          stop,
        };
    } catch {
      // not up yet
    }
    await sleep(100);
  }
  await stop();
  throw new Error('influxd did not answer /ping within 15 s');
}
