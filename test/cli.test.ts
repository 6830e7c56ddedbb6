import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { run, testbed, waitFor } from './helpers/cli.js';
import { freePorts } from './helpers/ports.js';
import { tempDir } from './helpers/tmp.js';

const pkg = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

describe('testbed command', () => {
  const dirs: { remove(): void }[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => d.remove()));
  const dataDir = () => {
    const tmp = tempDir();
    dirs.push(tmp);
    return tmp.dir;
  };

  it('refuses a bad configuration with one message listing every problem', async () => {
    const { code, stderr } = await run(['start'], { TESTBED_MQTT_PORT: 'x', TESTBED_INFLUX_URL: 'nope' });
    expect(code).toBe(1);
    expect(stderr).toContain('TESTBED_CONFIG_INVALID');
    expect(stderr).toContain('TESTBED_MQTT_PORT');
    expect(stderr).toContain('TESTBED_INFLUX_URL');
  });

  it('starts, prints a generated admin key once, answers health, and stops cleanly on SIGTERM', async () => {
    const dir = dataDir();
    const env = { TESTBED_DATA_DIR: dir, TESTBED_MQTT_PORT: '0', TESTBED_HTTP_PORT: '0', TESTBED_LOG_LEVEL: 'info' };
    const child = testbed(['start'], env);
    const [, key] = await waitFor(child, /Generated an admin key[^\n]*\n\s+(\S+)/);
    // Not a terminal: the log is JSON lines on stdout, the key on stderr.
    const [, url] = await waitFor(child, /"url":"(http:\/\/127\.0\.0\.1:\d+)"/);
    expect(child.stdout()).not.toContain('Generated an admin key');
    const health = await fetch(`${url}/v1/health`);
    expect(health.status).toBe(200);
    const testbeds = await fetch(`${url}/v1/testbeds`, { headers: { authorization: `Bearer ${key}` } });
    expect(testbeds.status).toBe(200);
    expect(fs.readFileSync(path.join(dir, 'testbed.lock'), 'utf8').trim()).toMatch(/^\d+$/);
    child.kill('SIGTERM');
    expect(await child.exited).toBe(0);
    expect(fs.existsSync(path.join(dir, 'testbed.lock'))).toBe(false);

    // The second start reuses the kept key and does not print it again.
    const again = testbed(['start'], env);
    await waitFor(again, /pipeline started/);
    expect(again.output()).not.toContain('Generated an admin key');
    again.kill('SIGINT');
    expect(await again.exited).toBe(0);
  });

  it('logs human-readable lines when asked, JSON lines otherwise', async () => {
    const env = { TESTBED_DATA_DIR: dataDir(), TESTBED_MQTT_PORT: '0', TESTBED_HTTP_PORT: '0', TESTBED_LOG_FORMAT: 'pretty' };
    const child = testbed(['start'], env);
    await waitFor(child, /pipeline started/);
    child.kill('SIGTERM');
    expect(await child.exited).toBe(0);
    const started = child
      .stdout()
      .split('\n')
      .find((line) => line.includes('pipeline started'))!;
    expect(started).toMatch(/INFO/);
    expect(() => JSON.parse(started) as unknown).toThrow();
  });

  it('prints its version', async () => {
    const { code, stdout } = await run(['--version']);
    expect(code).toBe(0);
    expect(stdout.trim()).toBe(`testbed ${pkg.version}`);
  });

  it.each([
    [['--help'], /^Usage: testbed <command>/],
    [['help'], /^Usage: testbed <command>/],
    [[], /^Usage: testbed <command>/],
    [['start', '--help'], /^Usage: testbed start/],
    [['help', 'start'], /^Usage: testbed start/],
    [['demo', '--help'], /^Usage: testbed demo/],
    [['simulate', '--help'], /^Usage: testbed simulate/],
    [['help', 'simulate'], /^Usage: testbed simulate/],
    [['companies', '--help'], /^Usage: testbed companies <action>/],
    [['pilots', 'create', '--help'], /^Usage: testbed pilots create/],
    [['devices', 'add', '-h'], /^Usage: testbed devices add/],
    [['keys', 'revoke', '--help'], /^Usage: testbed keys revoke <keyId>/],
    [['help', 'keys'], /^Usage: testbed keys <action>/],
  ])('testbed %j prints help and starts nothing', async (args, usage) => {
    // A data folder and fixed ports: were the command to start the server, it would leave the folder non-empty.
    const dir = dataDir();
    const { code, stdout, stderr } = await run(args, { TESTBED_DATA_DIR: dir, TESTBED_MQTT_PORT: '0', TESTBED_HTTP_PORT: '0' });
    expect(code).toBe(0);
    expect(stdout).toMatch(usage);
    expect(stderr).toBe('');
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it.each([
    [['frobnicate'], /unknown command "frobnicate"/],
    [['--frobnicate'], /Unknown option '--frobnicate'/],
    [['start', '--port', '1'], /testbed start: Unknown option '--port'/],
    [['demo', 'now'], /testbed demo: Unexpected argument 'now'/],
    [['pilots', 'create', '--colour', 'x'], /testbed pilots create: Unknown option '--colour'/],
    [['pilots', 'launch'], /unknown action "launch"; one of: create, list, end/],
    [['devices', 'add', '--key', 'k'], /--pilot is required\n\s+--profile is required/],
    [['keys', 'revoke', '--key', 'k'], /missing <keyId>/],
    [['companies', 'list'], /no API key: give --key <key> or set TESTBED_API_KEY/],
    [['companies', 'list', '--key', 'k', '--url', 'ftp://x'], /--url must be an http/],
  ])('testbed %j is a usage error (exit 2)', async (args, message) => {
    const { code, stderr } = await run(args);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
  });

  it('exits at once with TESTBED_PORT_IN_USE, the port and its variable, when a port is taken', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    try {
      for (const variable of ['TESTBED_MQTT_PORT', 'TESTBED_HTTP_PORT']) {
        const env = { TESTBED_DATA_DIR: dataDir(), TESTBED_MQTT_PORT: '0', TESTBED_HTTP_PORT: '0', [variable]: String(port) };
        const started = Date.now();
        const { code, stderr } = await run(['start'], env);
        expect(code).not.toBe(0);
        expect(Date.now() - started).toBeLessThan(10_000);
        const lines = stderr.trim().split('\n');
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(new RegExp(`^TESTBED_PORT_IN_USE: port ${port} .*${variable}`));
        expect(stderr).not.toMatch(/\bat .*\.js:\d+/); // no stack trace
        expect(fs.existsSync(path.join(env.TESTBED_DATA_DIR, 'testbed.lock'))).toBe(false);
      }
    } finally {
      server.close();
    }
  });

  it('refuses a second server on the same data folder, and takes over a lock its dead owner left', async () => {
    const dir = dataDir();
    const [mqtt, http] = await freePorts(2);
    const first = testbed(['start'], { TESTBED_DATA_DIR: dir, TESTBED_MQTT_PORT: '0', TESTBED_HTTP_PORT: '0', TESTBED_LOG_LEVEL: 'info' });
    await waitFor(first, /pipeline started/);
    try {
      const registry = fs.statSync(path.join(dir, 'registry.db')).mtimeMs;
      const second = await run(['start'], { TESTBED_DATA_DIR: dir, TESTBED_MQTT_PORT: String(mqtt), TESTBED_HTTP_PORT: String(http) });
      expect(second.code).toBe(1);
      expect(second.stderr).toMatch(/^TESTBED_DATA_DIR_LOCKED: .* in use by another testbed process \(pid \d+/);
      expect(fs.statSync(path.join(dir, 'registry.db')).mtimeMs).toBe(registry);
      // It never listened: its ports are still free.
      await expect(freeToListen(mqtt!)).resolves.toBe(true);
    } finally {
      first.kill('SIGTERM');
      expect(await first.exited).toBe(0);
    }

    // A process that died without stopping leaves its pid behind; the next start takes the folder over.
    fs.writeFileSync(path.join(dir, 'testbed.lock'), '2147483646\n');
    const next = testbed(['start'], { TESTBED_DATA_DIR: dir, TESTBED_MQTT_PORT: '0', TESTBED_HTTP_PORT: '0', TESTBED_LOG_LEVEL: 'info' });
    await waitFor(next, /pipeline started/);
    next.kill('SIGTERM');
    expect(await next.exited).toBe(0);
  });
});

function freeToListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}
