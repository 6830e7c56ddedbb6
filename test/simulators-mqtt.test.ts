import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { simulateCommand } from '../cli/simulate.js';
import { deviceTopic, parseDeviceTopic } from '../core/topics.js';
import { loadProfiles } from '../device-profiles/load.js';
import { createPipeline } from '../ingest/pipeline.js';
import type { DeviceCredentials } from '../simulators/credentials.js';
import { VirtualDevice } from '../simulators/device.js';
import { SimulatorError } from '../simulators/errors.js';
import { runSimulation, type SimulatedDevice, type SimulationSnapshot } from '../simulators/run.js';

/**
 * The device and run layers against a real Aedes broker over TCP, watched by a
 * real mqtt client. The broker stands in for the gateway: it checks
 * usernames and passwords, and for devices in `rejecting` it publishes a
 * rejection notice the way the gateway does. The gateway itself is tested
 * in gateway.test.ts.
 */
const profiles = loadProfiles();
const pipeline = createPipeline(profiles, { maxPayloadBytes: 16_384, maxFutureMs: 600_000, maxAgeMs: 365 * 86_400_000 });
/** What the gateway's pipeline makes of a payload: the codes of its rejections (none for a valid reading). */
const rejectionsOf = (profile: string, payload: unknown) =>
  pipeline
    .process(
      { deviceId: 'x', pilotId: 'p', companyId: 'c', testbedId: 't', profile, pilotStartsAt: null, pilotEndsAt: null },
      Buffer.from(JSON.stringify(payload)),
      Date.now(),
    )
    .rejections.map((r) => r.code);
const OBSERVER = { username: 'observer', password: 'observer-secret' };
const known = ['dev-1', 'dev-2', 'dev-3', 'dev-4'].map((deviceId, i): DeviceCredentials => ({
  deviceId,
  username: `user-${i + 1}`,
  password: `secret-${i + 1}`,
  profile: 'air-quality',
}));
const accounts = new Map<string, string>();
const rejecting = new Set<string>();
const clients = new Map<string, Client>();
const received: { topic: string; payload: Record<string, unknown> }[] = [];

let broker: Aedes;
let server: net.Server;
let url: string;
let observer: MqttClient;

async function until(condition: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

function capture(): { stream: Writable; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk, _encoding, done) {
      text += String(chunk);
      done();
    },
  });
  return { stream, text: () => text };
}

const simulated = (credentials: DeviceCredentials[], profile = 'air-quality'): SimulatedDevice[] =>
  credentials.map((c) => ({ credentials: c, profile: profiles.get(profile)!.profile }));

beforeAll(async () => {
  broker = await Aedes.createBroker({
    authenticate(_client, username, password, done) {
      if (username !== undefined && password !== undefined && accounts.get(username) === password.toString()) return done(null, true);
      done(Object.assign(new Error('bad username or password'), { returnCode: 4 }) as AuthenticateError, false);
    },
  });
  broker.on('client', (client) => clients.set(client.id, client));
  broker.on('publish', (packet, client) => {
    const topic = client ? parseDeviceTopic(packet.topic) : undefined;
    if (topic?.rest !== 'readings' || !rejecting.has(topic.deviceId)) return;
    const notice = { code: 'TESTBED_READING_OUT_OF_RANGE', reason: 'pm25 must be at most 1000 µg/m³' };
    broker.publish(
      { cmd: 'publish', topic: deviceTopic(topic.deviceId, 'errors'), payload: JSON.stringify(notice), qos: 0, retain: false, dup: false },
      () => {},
    );
  });
  server = net.createServer(broker.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `mqtt://127.0.0.1:${(server.address() as net.AddressInfo).port}`;

  accounts.set(OBSERVER.username, OBSERVER.password);
  observer = await mqtt.connectAsync(url, { ...OBSERVER, protocolVersion: 4, reconnectPeriod: 0, clientId: 'observer' });
  observer.on('message', (topic, payload) => received.push({ topic, payload: JSON.parse(payload.toString()) as Record<string, unknown> }));
  await observer.subscribeAsync(
    known.map((d) => deviceTopic(d.deviceId, 'readings')),
    { qos: 1 },
  );
});

beforeEach(() => {
  received.length = 0;
  rejecting.clear();
  for (const d of known) accounts.set(d.username, d.password);
});

afterEach(async () => {
  // Every virtual device has disconnected: only the observer is left.
  await until(() => broker.connectedClients === 1);
});

afterAll(async () => {
  await observer.endAsync();
  await new Promise<void>((resolve) => broker.close(() => resolve()));
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('VirtualDevice', () => {
  it('publishes JSON readings to its own readings topic and counts PUBACKs', async () => {
    const device = new VirtualDevice({ url, credentials: known[0]!, qos: 1 });
    await device.connect();
    for (let i = 0; i < 5; i++) device.publish({ pm25: 5 + i, pm10: 9 + i });
    await device.close();
    expect(device.stats()).toEqual({ sent: 5, acknowledged: 5, rejected: {}, errors: 0, connected: false });
    await until(() => received.length === 5);
    expect(received.map((r) => r.topic)).toEqual(Array(5).fill('devices/dev-1/readings'));
    expect(received.map((r) => r.payload.pm25)).toEqual([5, 6, 7, 8, 9]);
  });

  it('reports wrong credentials clearly and leaves no connection behind', async () => {
    const device = new VirtualDevice({ url, credentials: { ...known[0]!, password: 'wrong' } });
    const err = await device.connect().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SimulatorError);
    expect((err as SimulatorError).kind).toBe('bad-credentials');
    expect((err as SimulatorError).message).toMatch(/bad username or password.*return code 4/);
    expect(device.stats().connected).toBe(false);
    expect(device.publish({ pm25: 1 })).toBe(false);
    expect(device.stats().errors).toBe(1);
    await device.close();
  });

  it('reports a broker that is not there as unreachable', async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const err = await new VirtualDevice({ url: `mqtt://127.0.0.1:${port}`, credentials: known[0]! }).connect().catch((e: unknown) => e);
    expect((err as SimulatorError).kind).toBe('unreachable');
    expect((err as SimulatorError).message).toMatch(/cannot reach the MQTT broker .* \(ECONNREFUSED\)/);
  });

  it('counts the rejection notices it receives on its errors topic, by code', async () => {
    rejecting.add('dev-2');
    const device = new VirtualDevice({ url, credentials: known[1]!, qos: 1 });
    await device.connect();
    for (let i = 0; i < 3; i++) device.publish({ pm25: 2000 });
    await until(() => (device.stats().rejected.TESTBED_READING_OUT_OF_RANGE ?? 0) === 3);
    await device.close();
    expect(device.stats().rejected).toEqual({ TESTBED_READING_OUT_OF_RANGE: 3 });
  });

  it('reconnects after the connection drops and keeps publishing', async () => {
    const device = new VirtualDevice({ url, credentials: known[0]!, qos: 1, reconnectMs: 50 });
    await device.connect();
    device.publish({ pm25: 1 });
    await until(() => device.stats().acknowledged === 1);
    clients.get('dev-1')!.conn.destroy();
    await until(() => !device.stats().connected);
    expect(device.publish({ pm25: 2 })).toBe(false);
    await until(() => device.stats().connected);
    device.publish({ pm25: 3 });
    await device.close();
    expect(device.stats()).toMatchObject({ sent: 2, acknowledged: 2, errors: 2 }); // the lost connection and the reading it cost
    await until(() => received.length === 2);
    expect(received.map((r) => r.payload.pm25)).toEqual([1, 3]);
  });
});

describe('runSimulation', () => {
  it('sends count readings per device, each valid for its profile, at QoS 1', async () => {
    const progress: SimulationSnapshot[] = [];
    const summary = await runSimulation({
      url,
      devices: simulated(known.slice(0, 3)),
      rate: 20,
      count: 5,
      qos: 1,
      seed: 7,
      onProgress: (s) => progress.push(s),
      progressIntervalMs: 50,
    });
    expect(summary).toMatchObject({ devices: 3, connected: 3, sent: 15, acknowledged: 15, rejected: {}, errors: 0, qos: 1, seed: 7, stopped: 'completed' });
    expect(summary.elapsedMs).toBeGreaterThanOrEqual(190); // 4 periods of 50 ms, plus the stagger
    expect(summary.ratePerSecond).toBeGreaterThan(20);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)!.sent).toBeLessThanOrEqual(15);

    await until(() => received.length === 15);
    for (const d of known.slice(0, 3)) {
      const mine = received.filter((r) => r.topic === deviceTopic(d.deviceId, 'readings'));
      expect(mine).toHaveLength(5);
      for (const { payload } of mine) {
        expect(rejectionsOf('air-quality', payload)).toEqual([]);
        expect(Math.abs(Date.parse(payload.time as string) - Date.now())).toBeLessThan(10_000);
      }
    }
  });

  it('counts QoS 0 readings as sent, with nothing to acknowledge', async () => {
    const summary = await runSimulation({ url, devices: simulated([known[3]!], 'air-quality'), rate: 50, count: 4, qos: 0, includeTime: false });
    expect(summary).toMatchObject({ sent: 4, acknowledged: 0, errors: 0, qos: 0 });
    await until(() => received.length === 4);
    expect(received.every((r) => r.topic === 'devices/dev-4/readings' && !('time' in r.payload))).toBe(true);
  });

  it('stops at the end of its duration', async () => {
    const summary = await runSimulation({ url, devices: simulated(known.slice(0, 2)), rate: 10, durationMs: 500 });
    expect(summary.stopped).toBe('completed');
    expect(summary.sent).toBeGreaterThanOrEqual(8);
    expect(summary.sent).toBeLessThanOrEqual(10);
    expect(summary.elapsedMs).toBeLessThan(1_000);
  });

  it('stops when aborted and still resolves with the summary', async () => {
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 300);
    const started = Date.now();
    const summary = await runSimulation({ url, devices: simulated(known.slice(0, 2)), rate: 50, durationMs: 60_000, signal: stop.signal });
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(summary.stopped).toBe('aborted');
    expect(summary.sent).toBeGreaterThan(0);
    expect(summary.acknowledged).toBe(summary.sent);
  });

  it('sums rejection notices by code', async () => {
    rejecting.add('dev-1');
    const summary = await runSimulation({ url, devices: simulated(known.slice(0, 2)), rate: 20, count: 3 });
    expect(summary.rejected).toEqual({ TESTBED_READING_OUT_OF_RANGE: 3 });
  });

  it('refuses to start when a device cannot log in, naming it', async () => {
    accounts.set('user-2', 'rotated');
    const err = await runSimulation({ url, devices: simulated(known.slice(0, 3)), rate: 1, count: 1 }).catch((e: unknown) => e);
    expect((err as SimulatorError).kind).toBe('bad-credentials');
    expect((err as SimulatorError).message).toMatch(/refused dev-2: bad username or password/);
  });
});

describe('testbed simulate', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'testbed-sim-'));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  async function run(args: string[]) {
    const stdout = capture();
    const stderr = capture();
    const code = await simulateCommand(args, { stdout: stdout.stream, stderr: stderr.stream, env: {} });
    return { code, stdout: stdout.text(), stderr: stderr.text() };
  }

  it('runs the devices of a credentials file and prints a summary', async () => {
    const file = path.join(tmp, 'devices.json');
    fs.writeFileSync(file, JSON.stringify(known.slice(0, 2)));
    const result = await run(['--credentials', file, '--mqtt-url', url, '--rate', '20', '--count', '3', '--seed', '5']);
    expect(result.stderr).toMatch(/Simulating 2 air-quality devices on mqtt:\/\/127\.0\.0\.1:\d+: 20 readings\/s each, QoS 1, 3 readings each, seed 5/);
    expect(result.stdout).toMatch(/sent {10}6 /);
    expect(result.stdout).toMatch(/acknowledged {2}6\n/);
    expect(result.stdout).toMatch(/errors {8}0\n/);
    expect(result.code).toBe(0);
    await until(() => received.length === 6);
  });

  it('stops on SIGINT and still prints the summary', async () => {
    const file = path.join(tmp, 'one.json');
    fs.writeFileSync(file, JSON.stringify([{ ...known[2]!, profile: undefined }]));
    const listeners = process.listenerCount('SIGINT');
    const running = run(['--credentials', file, '--profile', 'weather', '--mqtt-url', url, '--rate', '20', '--qos', '0']);
    await until(() => received.length >= 3);
    process.emit('SIGINT', 'SIGINT');
    const result = await running;
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/weather device on .* until Ctrl-C/);
    expect(result.stderr).toMatch(/Stopping/);
    expect(result.stdout).toMatch(/^Simulation stopped after .*: 1 device, QoS 0/);
    expect(process.listenerCount('SIGINT')).toBe(listeners);
  });

  it('says so when the broker refuses the password', async () => {
    const file = path.join(tmp, 'stale.json');
    fs.writeFileSync(file, JSON.stringify([{ ...known[0]!, password: 'old' }]));
    const result = await run(['--credentials', file, '--mqtt-url', url, '--count', '1']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/refused dev-1: bad username or password/);
  });
});
