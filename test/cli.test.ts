import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from './helpers/tmp.js';

const BIN = fileURLToPath(new URL('../dist/cli/testbed.js', import.meta.url));

interface Child {
  output(): string;
  exited: Promise<number | null>;
  kill(signal: NodeJS.Signals): void;
}

/** Runs the built `testbed` command (the test command builds it first). */
function testbed(args: string[], env: Record<string, string>): Child {
  if (!fs.existsSync(BIN)) throw new Error(`${BIN} is missing: run npm run build (npm test does)`);
  const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return {
    output: () => out,
    exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
    kill: (signal) => child.kill(signal),
  };
}

async function waitFor(child: Child, pattern: RegExp, timeoutMs = 15_000): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = child.output().match(pattern);
    if (match) return match;
    if (Date.now() > deadline) throw new Error(`no ${pattern} in output:\n${child.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('testbed command', () => {
  const dirs: { remove(): void }[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => d.remove()));

  it('refuses a bad configuration with one message listing every problem', async () => {
    const child = testbed(['start'], { TESTBED_MQTT_PORT: 'x', TESTBED_INFLUX_URL: 'nope' });
    expect(await child.exited).toBe(1);
    expect(child.output()).toContain('TESTBED_CONFIG_INVALID');
    expect(child.output()).toContain('TESTBED_MQTT_PORT');
    expect(child.output()).toContain('TESTBED_INFLUX_URL');
  });

  it('starts, prints a generated admin key once, answers health, and stops cleanly on SIGTERM', async () => {
    const tmp = tempDir();
    dirs.push(tmp);
    const env = { TESTBED_DATA_DIR: tmp.dir, TESTBED_MQTT_PORT: '0', TESTBED_HTTP_PORT: '0', TESTBED_LOG_LEVEL: 'info' };
    const child = testbed(['start'], env);
    const [, key] = await waitFor(child, /Generated an admin key[^\n]*\n\s+(\S+)/);
    const [, url] = await waitFor(child, /"url":"(http:\/\/127\.0\.0\.1:\d+)"/);
    const health = await fetch(`${url}/v1/health`);
    expect(health.status).toBe(200);
    const testbeds = await fetch(`${url}/v1/testbeds`, { headers: { authorization: `Bearer ${key}` } });
    expect(testbeds.status).toBe(200);
    child.kill('SIGTERM');
    expect(await child.exited).toBe(0);

    // The second start reuses the kept key and does not print it again.
    const again = testbed(['start'], env);
    await waitFor(again, /pipeline started/);
    expect(again.output()).not.toContain('Generated an admin key');
    again.kill('SIGINT');
    expect(await again.exited).toBe(0);
  });

  it('prints usage for an unknown command', async () => {
    const child = testbed(['frobnicate'], {});
    expect(await child.exited).toBe(2);
    expect(child.output()).toContain('Usage: testbed');
  });
});
