import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePorts } from './ports.js';
import { tempDir } from './tmp.js';
import { eventually } from './wait.js';

/**
 * A real Prometheus server (Debian's `prometheus` package) on a free
 * 127.0.0.1 port, with its own configuration and storage in a temporary
 * folder, scraping `target` (host:port) every second; with `bearer`, it sends
 * that key as `Authorization: Bearer <key>`.
 */
export async function startPrometheus(target: string, options: { bearer?: string } = {}) {
  const tmp = tempDir('testbed-prometheus-');
  const [port] = await freePorts(1);
  const config = path.join(tmp.dir, 'prometheus.yml');
  fs.writeFileSync(
    config,
    [
      'global:',
      '  scrape_interval: 1s',
      'scrape_configs:',
      '  - job_name: testbed',
      ...(options.bearer === undefined ? [] : ['    authorization:', `      credentials: '${options.bearer}'`]),
      '    static_configs:',
      `      - targets: ['${target}']`,
      '',
    ].join('\n'),
  );
  let output = '';
  const child: ChildProcess = spawn(
    'prometheus',
    [`--config.file=${config}`, `--storage.tsdb.path=${path.join(tmp.dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    tmp.remove();
  };
  try {
    await eventually(async () => ((await fetch(`${url}/-/ready`).catch(() => undefined))?.ok ? true : undefined), 20_000, `prometheus ready:\n${output}`);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    url,
    /** The value of an instant query's only sample, or undefined when it has none. */
    async value(query: string): Promise<number | undefined> {
      const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(query)}`);
      const body = (await res.json()) as { data: { result: { value: [number, string] }[] } };
      const sample = body.data.result[0];
      return sample === undefined ? undefined : Number(sample.value[1]);
    },
    stop,
  };
}
