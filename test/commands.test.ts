import fs from 'node:fs';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TestbedEvent } from '../core/events.js';
import { commandResultTopic, deviceTopic } from '../core/topics.js';
import { ADMIN_TOKEN, eventually, provision, startTestPipeline, type TestPipeline } from './helpers/pipeline.js';

/*
 * Commands end to end: the API over real HTTP, real mqtt clients over TCP as
 * the devices, the registry on disk, the gateway's delivery and sweep.
 */

interface Received {
  readonly id: string;
  readonly name: string;
  readonly params: Record<string, unknown>;
  readonly expiresAt: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('commands: API -> registry -> gateway -> device -> result', () => {
  let p: TestPipeline;
  const clients: MqttClient[] = [];
  const events: TestbedEvent[] = [];

  beforeAll(async () => {
    p = await startTestPipeline();
    p.events.on((e) => events.push(e));
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  });
  afterAll(async () => p?.close());

  async function api(pipeline: TestPipeline, method: string, path: string, body?: object) {
    const res = await fetch(`${pipeline.apiUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }
  const send = (deviceId: string, body: object, pipeline = p) => api(pipeline, 'POST', `/v1/devices/${deviceId}/commands`, body);
  const read = async (deviceId: string, commandId: string, pipeline = p) => (await api(pipeline, 'GET', `/v1/devices/${deviceId}/commands/${commandId}`)).body;

  /** A device connected over TCP and subscribed at QoS 1 to its commands topic, recording what it receives. */
  async function device(username: string, password: string, deviceId: string, pipeline = p) {
    const client = await mqtt.connectAsync(pipeline.mqttUrl, { username, password, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000 });
    clients.push(client);
    const received: Received[] = [];
    const notices: { code: string; reason: string }[] = [];
    client.on('message', (topic, payload) => {
      if (topic === deviceTopic(deviceId, 'commands')) received.push(JSON.parse(payload.toString()) as Received);
      if (topic === deviceTopic(deviceId, 'errors')) notices.push(JSON.parse(payload.toString()) as { code: string; reason: string });
    });
    await client.subscribeAsync(deviceTopic(deviceId, 'errors'), { qos: 0 });
    await client.subscribeAsync(deviceTopic(deviceId, 'commands'), { qos: 1 });
    return { client, received, notices };
  }

  it('delivers at once to a subscribed device: PUBACK makes it delivered, the result makes it succeeded', async () => {
    const { devices } = await provision(p, 'weather');
    const { device: d, password } = devices[0]!;
    const dev = await device(d.username, password, d.id);

    const sent = await send(d.id, { name: 'set_interval', params: { seconds: 30 } });
    expect(sent.status).toBe(201);
    expect(sent.body).toMatchObject({ status: 'queued', name: 'set_interval', params: { seconds: 30 }, deviceId: d.id, sentBy: 'admin' });
    const id = sent.body.id as string;

    const [message] = await eventually(() => (dev.received.length > 0 ? dev.received : undefined), 5000, 'the command');
    expect(message).toEqual({ id, name: 'set_interval', params: { seconds: 30 }, expiresAt: sent.body.expiresAt });
    await eventually(async () => ((await read(d.id, id)).status === 'delivered' ? true : undefined), 5000, 'delivered');

    await dev.client.publishAsync(commandResultTopic(d.id, id), JSON.stringify({ ok: true, result: { interval: 30 } }), { qos: 1 });
    const done = await eventually(async () => {
      const c = await read(d.id, id);
      return c.status === 'succeeded' ? c : undefined;
    });
    expect(done.result).toEqual({ interval: 30 });
    expect((done.transitions as { status: string }[]).map((t) => t.status)).toEqual(['queued', 'delivered', 'succeeded']);
    expect(dev.received).toHaveLength(1);
    expect(events.filter((e) => e.data.commandId === id).map((e) => e.type)).toEqual(['command.queued', 'command.delivered', 'command.succeeded']);

    const failed = (await send(d.id, { name: 'reboot' })).body.id as string;
    await eventually(() => (dev.received.length === 2 ? true : undefined));
    await dev.client.publishAsync(commandResultTopic(d.id, failed), JSON.stringify({ ok: false, error: 'busy' }), { qos: 1 });
    await eventually(async () => ((await read(d.id, failed)).status === 'failed' ? true : undefined));
    expect((await read(d.id, failed)).error).toBe('busy');
    const listed = await api(p, 'GET', `/v1/devices/${d.id}/commands?status=failed`);
    expect((listed.body.commands as { id: string }[]).map((c) => c.id)).toEqual([failed]);
  });

  it('keeps commands for an offline device and delivers them, in order and once, when it subscribes', async () => {
    const { devices } = await provision(p, 'noise');
    const { device: d, password } = devices[0]!;
    const ids: string[] = [];
    for (const seconds of [10, 20, 30]) ids.push((await send(d.id, { name: 'set_interval', params: { seconds } })).body.id as string);
    for (const id of ids) expect((await read(d.id, id)).status).toBe('queued');

    const dev = await device(d.username, password, d.id);
    await eventually(() => (dev.received.length >= 3 ? true : undefined));
    expect(dev.received.map((m) => m.id)).toEqual(ids);
    expect(dev.received.map((m) => m.params.seconds)).toEqual([10, 20, 30]);
    for (const id of ids) await eventually(async () => ((await read(d.id, id)).status === 'delivered' ? true : undefined));
    await sleep(1500); // a sweep or two: nothing is sent again
    expect(dev.received).toHaveLength(3);
  });

  it('expires a command past its TTL and never sends it', async () => {
    const { devices } = await provision(p, 'weather');
    const { device: d, password } = devices[0]!;
    const id = (await send(d.id, { name: 'reboot', ttlSeconds: 1 })).body.id as string;
    const expired = await eventually(
      async () => {
        const c = await read(d.id, id);
        return c.status === 'expired' ? c : undefined;
      },
      5000,
      'expired',
    );
    expect((expired.transitions as { status: string }[]).map((t) => t.status)).toEqual(['queued', 'expired']);
    // The read shows it expired from its TTL on; the sweep (within a second) records it and says so.
    await eventually(() => (events.some((e) => e.type === 'command.expired' && e.data.commandId === id) ? true : undefined), 5000, 'command.expired');
    const dev = await device(d.username, password, d.id);
    await sleep(1200);
    expect(dev.received).toEqual([]);
  });

  it("refuses a result for another device's command, and closes a device that publishes on another device's topics", async () => {
    const { devices } = await provision(p, 'weather', 2);
    const [a, b] = devices as [(typeof devices)[0], (typeof devices)[0]];
    const theirs = (await send(b.device.id, { name: 'reboot' })).body.id as string;
    const devA = await device(a.device.username, a.password, a.device.id);

    await devA.client.publishAsync(commandResultTopic(a.device.id, theirs), JSON.stringify({ ok: true }), { qos: 1 });
    const [notice] = await eventually(() => (devA.notices.length > 0 ? devA.notices : undefined));
    expect(notice?.code).toBe('TESTBED_COMMAND_UNKNOWN');
    await devA.client.publishAsync(commandResultTopic(a.device.id, 'cmd_1'), 'not json', { qos: 1 });
    await eventually(() => (devA.notices.length > 1 ? true : undefined));
    expect(devA.notices[1]?.code).toBe('TESTBED_COMMAND_BAD_RESULT');

    const closed = new Promise<void>((resolve) => devA.client.once('close', () => resolve()));
    devA.client.publish(commandResultTopic(b.device.id, theirs), JSON.stringify({ ok: true }), { qos: 1 });
    await closed; // [MQTT-3.3.5-2]
    expect((await read(b.device.id, theirs)).status).toBe('queued');
  });

  it('answers 400 listing every problem with the name or the parameters', async () => {
    const { devices } = await provision(p, 'indoor-air');
    const id = devices[0]!.device.id;
    const unknown = await send(id, { name: 'self_destruct' });
    expect(unknown.status).toBe(400);
    expect((unknown.body.error as { message: string }).message).toContain('calibrate_co2');

    const bad = await send(id, { name: 'set_interval', params: { seconds: 2.5, colour: 'red' } });
    expect(bad.status).toBe(400);
    const details = (bad.body.error as { details: { field: string; message: string }[] }).details;
    expect(details.map((p) => p.field).sort()).toEqual(['params.colour', 'params.seconds']);

    const twoBad = await send(id, { name: 'calibrate_co2', params: {} });
    expect((twoBad.body.error as { details: { field: string }[] }).details.map((p) => p.field)).toEqual(['params.reference']);
    const range = await send(id, { name: 'calibrate_co2', params: { reference: 5000 } });
    expect(range.status).toBe(400);
    expect((range.body.error as { message: string }).message).toContain('at most 2000 ppm');
    expect((await send(id, { name: 'reboot', ttlSeconds: 0 })).status).toBe(400);
    expect((await api(p, 'GET', `/v1/devices/${id}/commands`)).body.commands).toEqual([]);
  });

  it('shows the declared commands in GET /v1/profiles', async () => {
    const profiles = (await api(p, 'GET', '/v1/profiles')).body.profiles as { id: string; commands: { name: string; ttlSeconds: number }[] }[];
    const beacon = profiles.find((x) => x.id === 'safety-beacon')!;
    expect(beacon.commands.map((c) => c.name)).toEqual(['set_interval', 'reboot', 'resend_backlog', 'set_led']);
    expect(beacon.commands[0]).toMatchObject({ ttlSeconds: 3600, params: [{ name: 'seconds', type: 'integer', unit: 's', range: { min: 5, max: 86400 } }] });
  });
});

describe('commands across a gateway restart', () => {
  it('delivers a command queued before the restart once after it, and takes the answer to one delivered before it', async () => {
    const first = await startTestPipeline();
    const dataDir = first.dataDir;
    const { devices } = await provision(first, 'weather');
    const { device: d, password } = devices[0]!;
    const post = (p: TestPipeline, body: object) =>
      fetch(`${p.apiUrl}/v1/devices/${d.id}/commands`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }).then(async (r) => (await r.json()) as { id: string });
    const connect = async (p: TestPipeline) => {
      const client = await mqtt.connectAsync(p.mqttUrl, { username: d.username, password, protocolVersion: 4, reconnectPeriod: 0 });
      const received: Received[] = [];
      client.on('message', (_t, payload) => received.push(JSON.parse(payload.toString()) as Received));
      await client.subscribeAsync(deviceTopic(d.id, 'commands'), { qos: 1 });
      return { client, received };
    };

    // One delivered and left unanswered, then one queued while the device is away.
    const before = await connect(first);
    const answered = await post(first, { name: 'reboot' });
    await eventually(() => (before.received.length === 1 ? true : undefined));
    await eventually(async () => ((await first.registry.getCommand({ kind: 'all' }, d.id, answered.id))?.status === 'delivered' ? true : undefined));
    await before.client.endAsync(true);
    const queued = await post(first, { name: 'set_interval', params: { seconds: 15 } });
    await first.stop();

    const second = await startTestPipeline({ TESTBED_DATA_DIR: dataDir });
    try {
      const after = await connect(second);
      await eventually(() => (after.received.length > 0 ? true : undefined));
      await sleep(1200);
      expect(after.received.map((m) => m.id)).toEqual([queued.id]);
      await after.client.publishAsync(commandResultTopic(d.id, answered.id), JSON.stringify({ ok: true }), { qos: 1 });
      await eventually(async () => ((await second.registry.getCommand({ kind: 'all' }, d.id, answered.id))?.status === 'succeeded' ? true : undefined));
      expect((await second.registry.getCommand({ kind: 'all' }, d.id, queued.id))?.status).toBe('delivered');
      await after.client.endAsync(true);
    } finally {
      await second.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
