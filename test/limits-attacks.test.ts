import { spawn } from 'node:child_process';
import type net from 'node:net';
import { fileURLToPath } from 'node:url';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceTopic } from '../core/topics.js';
import { closedWithin, connackFrom, connectFrom, socketFrom } from './helpers/from-address.js';
import { tempDir } from './helpers/tmp.js';
import { ADMIN_TOKEN, eventually, provision, startTestPipeline, type TestPipeline } from './helpers/pipeline.js';

/**
 * The limits an attacker on the same network meets, tried from several client
 * addresses (127.0.0.x) against a real gateway: guessing passwords, holding
 * sockets, sending half a request.
 */
function pipeline(env: Record<string, string>) {
  const state = { p: undefined as unknown as TestPipeline };
  beforeAll(async () => {
    state.p = await startTestPipeline(env);
  });
  afterAll(async () => state.p?.close());
  return state;
}

describe('MQTT login throttle: per address and username, not a lockout weapon', () => {
  const state = pipeline({});

  it("throttles a guesser's address for that username, while the device logs in from a new address", async () => {
    const { device, password } = (await provision(state.p, 'noise', 1)).devices[0]!;
    const url = state.p.mqttUrl;
    for (let i = 0; i < 6; i++) expect(await connackFrom(url, '127.0.0.2', device.username, `guess-${i}`)).toBe(4);
    // The guesser is refused unchecked, even with the right password...
    expect(await connackFrom(url, '127.0.0.2', device.username, password)).toBe(5);
    // ...while the device, from an address it has never used, is not locked out.
    expect(await connackFrom(url, '127.0.0.3', device.username, password)).toBe(0);
  });

  it('throttles an address guessing across usernames, but not a device that has logged in from there', async () => {
    const { devices } = await provision(state.p, 'noise', 2);
    const [known, fresh] = devices as [(typeof devices)[0], (typeof devices)[0]];
    const url = state.p.mqttUrl;
    expect(await connackFrom(url, '127.0.0.4', known.device.username, known.password)).toBe(0);
    const codes: (number | undefined)[] = [];
    for (let i = 0; i < 22; i++) codes.push(await connackFrom(url, '127.0.0.4', `nobody-${i}`, 'guess'));
    expect(codes.slice(0, 21).every((c) => c === 4)).toBe(true);
    expect(codes[21]).toBe(5);
    expect(await connackFrom(url, '127.0.0.4', fresh.device.username, fresh.password)).toBe(5);
    expect(await connackFrom(url, '127.0.0.4', known.device.username, known.password)).toBe(0);
    // A valid login does not reset the address's count (else one own device would make guessing free).
    expect(await connackFrom(url, '127.0.0.4', 'nobody-x', 'guess')).toBe(5);
  });
});

describe('caps on connections in all', () => {
  const state = pipeline({ TESTBED_MQTT_MAX_CONNECTIONS: '3', TESTBED_HTTP_MAX_CONNECTIONS: '3' });
  const clients: MqttClient[] = [];
  afterAll(async () => Promise.all(clients.map((c) => c.endAsync(true))));

  it('refuses the MQTT connection beyond TESTBED_MQTT_MAX_CONNECTIONS with CONNACK 3, whatever its address', async () => {
    const { devices } = await provision(state.p, 'noise', 4);
    for (const [i, d] of devices.slice(0, 3).entries()) {
      clients.push(await connectFrom(state.p.mqttUrl, `127.0.1.${i + 1}`, { username: d.device.username, password: d.password }));
    }
    const last = devices[3]!;
    expect(await connackFrom(state.p.mqttUrl, '127.0.1.9', last.device.username, last.password)).toBe(3);
    await clients.pop()!.endAsync(true);
    await eventually(async () => ((await connackFrom(state.p.mqttUrl, '127.0.1.9', last.device.username, last.password)) === 0 ? true : undefined));
  });

  it('closes the HTTP socket beyond TESTBED_HTTP_MAX_CONNECTIONS at once, and serves again once one closes', async () => {
    const port = Number(new URL(state.p.apiUrl).port);
    const held = await Promise.all([1, 2, 3].map((i) => socketFrom(port, `127.0.2.${i}`)));
    const extra = await socketFrom(port, '127.0.2.9');
    extra.write('GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(await closedWithin(extra)).toBeLessThan(1000);
    held.forEach((s) => s.destroy());
    const status = () =>
      fetch(`${state.p.apiUrl}/v1/health`, { signal: AbortSignal.timeout(1000) }).then(
        (r) => r.status,
        () => undefined,
      );
    await eventually(async () => ((await status()) === 200 ? true : undefined));
  });
});

describe('HTTP timeouts', () => {
  const state = pipeline({
    TESTBED_HTTP_HEADERS_TIMEOUT_SECONDS: '1',
    TESTBED_HTTP_REQUEST_TIMEOUT_SECONDS: '2',
    TESTBED_HTTP_KEEPALIVE_TIMEOUT_SECONDS: '1',
  });
  const port = () => Number(new URL(state.p.apiUrl).port);

  it('closes a request whose body stops coming within the request timeout, with 408', async () => {
    const socket = await socketFrom(port(), '127.0.3.1');
    let answer = '';
    socket.on('data', (d: Buffer) => (answer += d.toString()));
    socket.write(
      `POST /v1/companies HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"name":`,
    );
    const ms = await closedWithin(socket);
    expect(ms).toBeGreaterThan(900);
    expect(ms).toBeLessThan(4000);
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
  });

  it('closes an idle keep-alive connection after the keep-alive timeout', async () => {
    const socket = await socketFrom(port(), '127.0.3.2');
    let answer = '';
    socket.on('data', (d: Buffer) => (answer += d.toString()));
    socket.write('GET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n');
    const ms = await closedWithin(socket);
    expect(answer).toMatch(/^HTTP\/1\.1 200/);
    expect(ms).toBeLessThan(3000);
  });
});

describe('1,100 half-sent HTTP requests while devices publish', () => {
  const state = pipeline({ TESTBED_HTTP_HEADERS_TIMEOUT_SECONDS: '3' });

  it('keeps answering devices (CONNACK, PUBACK within a second) and closes every half-sent request within the header timeout', async () => {
    const port = Number(new URL(state.p.apiUrl).port);
    // 11 addresses x 100 sockets: each address at its cap (TESTBED_HTTP_MAX_CONNECTIONS_PER_IP).
    const sockets: net.Socket[] = [];
    for (let a = 0; a < 11; a++) {
      sockets.push(...(await Promise.all(Array.from({ length: 100 }, () => socketFrom(port, `127.0.4.${a + 1}`)))));
    }
    const started = Date.now();
    for (const s of sockets) s.write('GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    const closed = Promise.all(sockets.map((s) => closedWithin(s)));

    const { devices } = await provision(state.p, 'noise', 5);
    const slowest: number[] = [];
    for (const [i, d] of devices.entries()) {
      const client = await connectFrom(state.p.mqttUrl, `127.0.5.${i + 1}`, { username: d.device.username, password: d.password });
      for (let n = 0; n < 3; n++) {
        const sent = Date.now();
        await client.publishAsync(deviceTopic(d.device.id, 'readings'), JSON.stringify({ laeq: 40 + n }), { qos: 1 });
        slowest.push(Date.now() - sent);
      }
      await client.endAsync();
    }
    expect(Math.max(...slowest)).toBeLessThan(1000);
    await closed;
    // Header timeout 3 s; Node checks it every second at most.
    expect(Date.now() - started).toBeLessThan(6000);
  }, 60_000);
});

describe('open-file limit', () => {
  const tmp = tempDir('testbed-fd-');
  afterAll(() => tmp.remove());

  // prlimit comes with util-linux, which every Debian system has.
  it('raises the soft limit to the hard one at start and logs how many connections it can hold', async () => {
    const bin = fileURLToPath(new URL('../dist/cli/testbed.js', import.meta.url));
    const child = spawn('prlimit', ['--nofile=1024:4096', process.execPath, bin, 'start'], {
      env: { PATH: process.env.PATH ?? '', TESTBED_DATA_DIR: tmp.dir, TESTBED_MQTT_PORT: '0', TESTBED_HTTP_PORT: '0', TESTBED_LOG_FORMAT: 'json' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await eventually(() => (out.includes('pipeline started') ? true : undefined), 20_000, 'the start');
      const line = out.split('\n').find((l) => l.includes('"softLimit"'));
      expect(JSON.parse(line!)).toMatchObject({ softLimit: 4096, hardLimit: 4096, capacity: 4096 - 256, caps: 15_000 });
      // The default caps need more than 4096 descriptors: the start says so.
      expect(JSON.parse(line!).level).toBe(40);
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  });
});
