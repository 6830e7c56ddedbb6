import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { simulateCommand } from '../cli/simulate.js';
import { createProgressReporter, formatSummary } from '../simulators/reporter.js';
import type { SimulationSnapshot, SimulationSummary } from '../simulators/run.js';

/** `testbed simulate` options that fail before anything connects, and the reporter. Runs against a broker are in simulators-mqtt.test.ts. */
function capture(isTTY = false): { stream: Writable & { isTTY?: boolean }; text: () => string } {
  let text = '';
  const stream = Object.assign(
    new Writable({
      write(chunk, _encoding, done) {
        text += String(chunk);
        done();
      },
    }),
    { isTTY },
  );
  return { stream, text: () => text };
}

async function run(args: string[], env: Record<string, string> = {}) {
  const stdout = capture();
  const stderr = capture();
  const listeners = process.listenerCount('SIGINT');
  const code = await simulateCommand(args, { stdout: stdout.stream, stderr: stderr.stream, env });
  expect(process.listenerCount('SIGINT')).toBe(listeners);
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'testbed-sim-cli-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
function file(name: string, content: string): string {
  const where = path.join(tmp, name);
  fs.writeFileSync(where, content);
  return where;
}

describe('testbed simulate options', () => {
  it('prints its help', async () => {
    const { code, stdout } = await run(['--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Usage: testbed simulate/);
    for (const option of [
      '--profile',
      '--devices',
      '--rate',
      '--duration',
      '--count',
      '--qos',
      '--mqtt-url',
      '--api-url',
      '--key',
      '--pilot',
      '--credentials',
      '--seed',
    ]) {
      expect(stdout).toContain(option);
    }
  });

  it.each([
    [['--bogus'], /Unknown option '--bogus'/],
    [['extra'], /Unexpected argument 'extra'/],
    [[], /give --scenario <name>, --pilot <id> to register new devices, or --credentials <file>/],
    [['--pilot', 'p', '--credentials', 'f.json'], /either --pilot or --credentials, not both/],
    [['--pilot', 'p'], /--pilot needs an API key[\s\S]*--pilot needs --profile/],
    [['--pilot', 'p', '--key', 'k', '--profile', 'smoke'], /unknown profile "smoke"; known: air-quality, bicycle-counter, energy-meter, /],
    [['--pilot', 'p', '--key', 'k', '--profile', 'noise', '--format', 'binary'], /--format binary: profile noise accepts json, senml/],
    [['--pilot', 'p', '--key', 'k', '--profile', 'noise', '--format', 'xml'], /--format must be json, senml, binary, not "xml"/],
    [
      ['--pilot', 'p', '--key', 'k', '--profile', 'noise', '--faults', 'malformed=2,typo=0.1'],
      /--faults: malformed: [\s\S]*--faults: \(all\): Unrecognized key: "typo"/,
    ],
    [['--pilot', 'p', '--key', 'k', '--profile', 'noise', '--speed', '5'], /--speed goes with --scenario/],
    [['--scenario', 'atlantis', '--key', 'k'], /cannot read scenario .*atlantis\.json/],
    [['--scenario', 'helsinki', '--profile', 'noise'], /--profile does not go with --scenario[\s\S]*--scenario needs an API key: the admin key/],
    [['--pilot', 'p', '--key', 'k', '--profile', 'noise', '--api-url', 'ftp://x'], /--api-url must be a URL starting http:\/\/ or https:\/\//],
    [['--pilot', 'p', '--key', 'k', '--profile', 'noise', '--mqtt-url', 'localhost:1883'], /--mqtt-url must be a URL/],
    [['--credentials', '/no/such/file.json'], /cannot read \/no\/such\/file\.json/],
    [['--credentials', 'x', '--save-credentials', 'y'], /--save-credentials goes with --pilot/],
  ])('refuses %j with exit status 2', async (args, message) => {
    const { code, stderr } = await run(args);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
    expect(stderr).toMatch(/Run testbed simulate --help/);
  });

  it('lists every bad number at once', async () => {
    const { code, stderr } = await run([
      '--pilot',
      'p',
      '--key',
      'k',
      '--profile',
      'noise',
      '--devices',
      '0',
      '--rate=-1',
      '--duration',
      'soon',
      '--count',
      '2.5',
      '--qos',
      '2',
      '--seed',
      'x',
    ]);
    expect(code).toBe(2);
    for (const m of [
      /--devices must be a whole number from 1 to 10000, not "0"/,
      /--rate must be/,
      /--duration must be a positive number of seconds, not "soon"/,
      /--count must be a positive whole number/,
      /--qos must be 0 or 1, not "2"/,
      /--seed must be/,
    ]) {
      expect(stderr).toMatch(m);
    }
  });

  it('checks a credentials file before connecting', async () => {
    expect((await run(['--credentials', file('bad.json', '{ nope')])).stderr).toMatch(/bad\.json is not valid JSON/);
    const missing = await run(['--credentials', file('missing.json', JSON.stringify([{ deviceId: 'dev-1', username: 'u', profile: 'noise' }]))]);
    expect(missing.stderr).toMatch(/\[0\]\.password: /);
    const unsafe = await run(['--credentials', file('unsafe.json', JSON.stringify([{ deviceId: 'a/#', username: 'u', password: 'p', profile: 'noise' }]))]);
    expect(unsafe.stderr).toMatch(/\[0\]\.deviceId: must be a device id/);
    const noProfile = file('noprofile.json', JSON.stringify([{ deviceId: 'dev-1', username: 'u', password: 'p' }]));
    expect((await run(['--credentials', noProfile])).stderr).toMatch(/device dev-1 names no profile; give --profile <id>/);
    expect((await run(['--credentials', noProfile, '--devices', '2', '--profile', 'noise'])).stderr).toMatch(/--devices 2: .* lists only 1/);
    for (const result of [missing, unsafe]) expect(result.code).toBe(2);
  });

  it('refuses to overwrite a credentials file', async () => {
    const existing = file('existing.json', '[]');
    const { code, stderr } = await run(['--pilot', 'p', '--key', 'k', '--profile', 'noise', '--save-credentials', existing]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/existing\.json exists; name a new file/);
  });

  it('takes the API port and key from the environment and says when the API is not there', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const { code, stderr } = await run(['--pilot', 'p', '--profile', 'noise'], { TESTBED_HTTP_PORT: String(port), TESTBED_API_KEY: 'k' });
    expect(code).toBe(1);
    expect(stderr).toContain(`cannot reach the API at http://127.0.0.1:${port} (ECONNREFUSED)`);
  });
});

describe('progress reporter', () => {
  const snapshot: SimulationSnapshot = {
    devices: 3,
    connected: 3,
    sent: 12,
    acknowledged: 11,
    rejected: { TESTBED_READING_OUT_OF_RANGE: 1 },
    errors: 0,
    elapsedMs: 4_000,
    ratePerSecond: 3,
    faults: {},
    expectedRejections: {},
    missed: 0,
  };
  const summary: SimulationSummary = { ...snapshot, qos: 1, seed: 9, stopped: 'aborted' };

  it('rewrites one line on a terminal and ends it before the summary', () => {
    const err = capture(true);
    const out = capture();
    const reporter = createProgressReporter(err.stream);
    reporter.progress(snapshot);
    reporter.progress({ ...snapshot, sent: 13 });
    reporter.summary(summary, out.stream);
    expect(err.text()).toBe(
      `\r4.0 s  3/3 connected  sent 12 (3/s)  acked 11  rejected 1  errors 0\x1b[K\r4.0 s  3/3 connected  sent 13 (3/s)  acked 11  rejected 1  errors 0\x1b[K\n`,
    );
    expect(out.text()).toBe(
      [
        'Simulation stopped after 4.0 s: 3 devices, QoS 1, seed 9',
        '  sent          12 (3 readings/s)',
        '  acknowledged  11',
        '  rejected      1',
        '    TESTBED_READING_OUT_OF_RANGE  1',
        '  errors        0',
        '',
      ].join('\n'),
    );
  });

  it('writes a line every few seconds into a log', () => {
    const err = capture(false);
    const reporter = createProgressReporter(err.stream, { everyMs: 5_000 });
    for (const elapsedMs of [1_000, 2_000, 5_999, 6_000, 11_000]) reporter.progress({ ...snapshot, elapsedMs });
    expect(
      err
        .text()
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split(' ')[0]),
    ).toEqual(['1.0', '6.0', '11.0']);
  });

  it('says that QoS 0 has nothing to acknowledge', () => {
    expect(formatSummary({ ...summary, qos: 0, acknowledged: 0 })).toMatch(/acknowledged {2}- \(QoS 0 has no acknowledgements\)/);
  });
});
