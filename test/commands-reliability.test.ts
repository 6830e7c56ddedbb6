import { spawn } from 'node:child_process';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestbedEvent } from '../core/events.js';
import { commandResultTopic, deviceTopic } from '../core/topics.js';
import { SETUP_CALLER } from '../registry/index.js';
import { ADMIN_TOKEN, eventually, provision, startTestPipeline, type TestPipeline } from './helpers/pipeline.js';
import { RawMqttDevice } from './helpers/raw-mqtt.js';
import { webhookReceiver } from './helpers/webhook-receiver.js';

/*
 * What makes commands trustworthy, over real MQTT: the PUBACK and only it marks
 * a command delivered; a command goes again after a lost connection with the
 * same id, and never twice on one; an answer counts once; nothing reaches
 * another device; nothing is sent past its TTL; every status change is seen.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const idIn = (payload: Buffer | string) => (JSON.parse(payload.toString()) as { id: string }).id;

describe('commands: delivery guarantees', () => {
  let p: TestPipeline;
  const events: TestbedEvent[] = [];
  beforeAll(async () => {
    p = await startTestPipeline({ TESTBED_WEBHOOK_ALLOWED_HOSTS: '127.0.0.1', TESTBED_WEBHOOK_RETRY_SECONDS: '0.3,0.3,0.3' });
    p.events.on((e) => events.push(e));
  });
  afterAll(async () => p?.close());

  async function api(method: string, path: string, body?: unknown, key = ADMIN_TOKEN) {
    const res = await fetch(`${p.apiUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }
  const send = async (deviceId: string, body: object) => (await api('POST', `/v1/devices/${deviceId}/commands`, body)).body.id as string;
  const status = async (deviceId: string, id: string) => (await api('GET', `/v1/devices/${deviceId}/commands/${id}`)).body.status;

  it('marks a command delivered by its own PUBACK only, and sends it again with the same id after a lost connection', async () => {
    const { devices } = await provision(p, 'weather');
    const { device: d, password } = devices[0]!;
    const topic = deviceTopic(d.id, 'commands');
    const first = await RawMqttDevice.connect(p.mqttUrl, d.username, password);
    expect(await first.subscribe(topic, 1)).toEqual([1]);
    const id = await send(d.id, { name: 'reboot' });
    const [sent] = await eventually(() => (first.published(topic).length > 0 ? first.published(topic) : undefined));
    expect(sent!.qos).toBe(1);
    expect(idIn(sent!.payload)).toBe(id);

    first.puback(sent!.messageId! === 65535 ? 1 : sent!.messageId! + 1); // a PUBACK for another packet
    await sleep(1500); // a sweep or two
    expect(await status(d.id, id)).toBe('queued');
    expect(first.published(topic)).toHaveLength(1); // not again on the same connection
    await first.drop();

    const second = await RawMqttDevice.connect(p.mqttUrl, d.username, password);
    await second.subscribe(topic, 1);
    const [again] = await eventually(() => (second.published(topic).length > 0 ? second.published(topic) : undefined));
    expect(idIn(again!.payload)).toBe(id);
    second.puback(again!.messageId!);
    await eventually(async () => ((await status(d.id, id)) === 'delivered' ? true : undefined));
    await sleep(1200);
    expect(second.published(topic)).toHaveLength(1);
    await second.drop();
  });

  it('sends a command once to a resumed session: the broker’s stored copy, not a second one', async () => {
    const { devices } = await provision(p, 'weather');
    const { device: d, password } = devices[0]!;
    const topic = deviceTopic(d.id, 'commands');
    const session = { clientId: 'beacon-1', clean: false };
    const first = await RawMqttDevice.connect(p.mqttUrl, d.username, password, session);
    await first.subscribe(topic, 1);
    const id = await send(d.id, { name: 'reboot' });
    await eventually(() => (first.published(topic).length > 0 ? true : undefined));
    await first.drop();

    const resumed = await RawMqttDevice.connect(p.mqttUrl, d.username, password, session); // no SUBSCRIBE: the session has it
    const [again] = await eventually(() => (resumed.published(topic).length > 0 ? resumed.published(topic) : undefined));
    expect(idIn(again!.payload)).toBe(id);
    await sleep(1200);
    expect(resumed.published(topic)).toHaveLength(1);
    resumed.puback(again!.messageId!);
    await eventually(async () => ((await status(d.id, id)) === 'delivered' ? true : undefined));
    await resumed.drop();
  });

  it('takes an answer once: the same one again changes nothing, another outcome is refused', async () => {
    const { devices } = await provision(p, 'weather');
    const { device: d, password } = devices[0]!;
    const client = await mqtt.connectAsync(p.mqttUrl, { username: d.username, password, protocolVersion: 4, reconnectPeriod: 0 });
    const notices: string[] = [];
    client.on('message', (t, payload) => {
      if (t === deviceTopic(d.id, 'errors')) notices.push((JSON.parse(payload.toString()) as { code: string }).code);
    });
    await client.subscribeAsync(deviceTopic(d.id, 'errors'), { qos: 0 });
    await client.subscribeAsync(deviceTopic(d.id, 'commands'), { qos: 1 });
    const id = await send(d.id, { name: 'set_interval', params: { seconds: 60 } });
    await eventually(async () => ((await status(d.id, id)) === 'delivered' ? true : undefined));
    for (let i = 0; i < 2; i++) await client.publishAsync(commandResultTopic(d.id, id), JSON.stringify({ ok: true, result: { n: i } }), { qos: 1 });
    await client.publishAsync(commandResultTopic(d.id, id), JSON.stringify({ ok: false, error: 'changed my mind' }), { qos: 1 });
    await eventually(() => (notices.length > 0 ? true : undefined));
    await sleep(200);
    expect(notices).toEqual(['TESTBED_COMMAND_FINISHED']);
    const done = (await api('GET', `/v1/devices/${d.id}/commands/${id}`)).body;
    expect(done).toMatchObject({ status: 'succeeded', result: { n: 0 }, error: null });
    expect(events.filter((e) => e.data.commandId === id).map((e) => e.type)).toEqual(['command.queued', 'command.delivered', 'command.succeeded']);
    await client.endAsync(true);
  });

  it('never sends a command to another device, which cannot subscribe to it either', async () => {
    const { devices } = await provision(p, 'weather', 2);
    const [a, b] = devices as [(typeof devices)[0], (typeof devices)[0]];
    const devA = await RawMqttDevice.connect(p.mqttUrl, a.device.username, a.password);
    const devB = await RawMqttDevice.connect(p.mqttUrl, b.device.username, b.password);
    await devA.subscribe(deviceTopic(a.device.id, 'commands'), 1);
    await devB.subscribe(deviceTopic(b.device.id, 'commands'), 1);
    expect(await devB.subscribe(deviceTopic(a.device.id, 'commands'), 1, 2)).toEqual([128]);
    expect(await devB.subscribe('devices/+/commands', 1, 3)).toEqual([128]);
    const ids = [await send(a.device.id, { name: 'reboot' }), await send(a.device.id, { name: 'set_interval', params: { seconds: 30 } })];
    await eventually(() => (devA.published(deviceTopic(a.device.id, 'commands')).length === 2 ? true : undefined));
    await sleep(1200);
    expect(devB.packets.filter((x) => x.cmd === 'publish')).toEqual([]);
    expect(devA.published(deviceTopic(a.device.id, 'commands')).map((x) => idIn(x.payload))).toEqual(ids);
    await devA.drop();
    await devB.drop();
  });

  it('expires an unacknowledged or unanswered command at its TTL and never sends it after', async () => {
    const { devices } = await provision(p, 'weather');
    const { device: d, password } = devices[0]!;
    const topic = deviceTopic(d.id, 'commands');
    const dev = await RawMqttDevice.connect(p.mqttUrl, d.username, password);
    await dev.subscribe(topic, 1);
    const id = await send(d.id, { name: 'reboot', ttlSeconds: 1 });
    const command = (await api('GET', `/v1/devices/${d.id}/commands/${id}`)).body;
    await eventually(() => (dev.published(topic).length > 0 ? true : undefined));
    const expiresAt = Date.parse(command.expiresAt as string);
    expect(await status(d.id, id)).toBe('queued');
    await sleep(expiresAt - Date.now() + 20);
    // Shown expired from the instant its TTL ran out, whether or not the sweep has come by yet.
    expect((await api('GET', `/v1/devices/${d.id}/commands/${id}`)).body).toMatchObject({ status: 'expired', finishedAt: command.expiresAt });
    expect(((await api('GET', `/v1/devices/${d.id}/commands?status=expired`)).body.commands as { id: string }[]).map((c) => c.id)).toEqual([id]);
    const expired = await eventually(() => events.find((e) => e.type === 'command.expired' && e.data.commandId === id), 5000);
    expect(expired.at).toBe(expiresAt);
    await dev.drop();
    const back = await RawMqttDevice.connect(p.mqttUrl, d.username, password);
    await back.subscribe(topic, 1);
    await sleep(1200);
    expect(back.published(topic)).toEqual([]);
    // A late answer is refused: the sender was told it would expire.
    back.send({ cmd: 'publish', topic: commandResultTopic(d.id, id), payload: Buffer.from('{"ok":true}'), qos: 0, retain: false, dup: false });
    await sleep(300);
    expect(await status(d.id, id)).toBe('expired');
    await back.drop();
  });

  it('carries each status change to a webhook and the pilot’s live stream, and the audit log names the sender', async () => {
    const receiver = await webhookReceiver();
    try {
      const { devices, pilot } = await provision(p, 'weather');
      const { device: d, password } = devices[0]!;
      const hook = await api('POST', '/v1/webhooks', {
        url: receiver.url,
        events: ['command.queued', 'command.delivered', 'command.succeeded'],
        pilotId: pilot.id,
      });
      expect(hook.status).toBe(201);
      receiver.useSecret(hook.body.secret as string);
      const live = await fetch(`${p.apiUrl}/v1/pilots/${pilot.id}/live`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      const reader = live.body!.getReader();
      let streamed = '';
      void (async () => {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          streamed += Buffer.from(value).toString();
        }
      })();

      const client = await mqtt.connectAsync(p.mqttUrl, { username: d.username, password, protocolVersion: 4, reconnectPeriod: 0 });
      client.on('message', (_t, payload) => void client.publish(commandResultTopic(d.id, idIn(payload)), '{"ok":true}', { qos: 1 }));
      await client.subscribeAsync(deviceTopic(d.id, 'commands'), { qos: 1 });
      const id = await send(d.id, { name: 'reboot' });
      await eventually(() => (receiver.received.length >= 3 ? true : undefined), 10_000, 'three webhook deliveries');
      // Deliveries run side by side, so they may arrive in any order.
      const order = ['command.queued', 'command.delivered', 'command.succeeded'];
      const hooks = [...receiver.received].sort((x, y) => order.indexOf(x.body.type) - order.indexOf(y.body.type));
      expect(hooks.map((r) => [r.body.type, r.body.data.commandId, r.body.data.deviceId, r.verified])).toEqual([
        ['command.queued', id, d.id, true],
        ['command.delivered', id, d.id, true],
        ['command.succeeded', id, d.id, true],
      ]);
      await eventually(() => (streamed.includes('command.succeeded') ? true : undefined));
      const commandEvents = streamed
        .split('\n\n')
        .filter((e) => e.startsWith('event: command'))
        .map((e) => JSON.parse(e.split('data: ')[1]!) as { type: string; commandId: string; deviceId: string });
      expect(commandEvents.map((e) => [e.type, e.commandId, e.deviceId])).toEqual([
        ['command.queued', id, d.id],
        ['command.delivered', id, d.id],
        ['command.succeeded', id, d.id],
      ]);
      await reader.cancel();
      await client.endAsync(true);

      const audit = (await api('GET', '/v1/audit?limit=1000')).body.entries as {
        method: string;
        route: string;
        deviceId: string;
        keyId: string;
        status: number;
      }[];
      expect(audit.filter((e) => e.method === 'POST' && e.deviceId === d.id && e.route.endsWith('/commands'))).toEqual([
        expect.objectContaining({ keyId: 'admin', status: 201 }),
      ]);
    } finally {
      await receiver.down();
    }
  });

  it("answers another company's key 404 for a device's commands and configuration, as for a missing device", async () => {
    const mine = await provision(p, 'weather');
    const theirs = await provision(p, 'weather');
    const own = (await p.registry.createCompanyKey(SETUP_CALLER, mine.company.id, 'own')).key;
    const foreign = (await p.registry.createCompanyKey(SETUP_CALLER, theirs.company.id, 'foreign')).key;
    const d = mine.devices[0]!.device.id;
    const sent = await api('POST', `/v1/devices/${d}/commands`, { name: 'reboot' }, own);
    expect(sent.status).toBe(201);
    const id = sent.body.id as string;
    const missing = await api('POST', '/v1/devices/dev_missing/commands', { name: 'reboot' }, foreign);
    for (const [method, path, body] of [
      ['POST', `/v1/devices/${d}/commands`, { name: 'reboot' }],
      ['GET', `/v1/devices/${d}/commands`],
      ['GET', `/v1/devices/${d}/commands/${id}`],
      ['PUT', `/v1/devices/${d}/config/desired`, { reportingIntervalSeconds: 60 }],
      ['GET', `/v1/devices/${d}/config`],
    ] as const) {
      const res = await api(method, path, body, foreign);
      expect([method, path, res.status]).toEqual([method, path, 404]);
      expect(res.body).toEqual(missing.body);
    }
    expect((await api('GET', `/v1/devices/${d}/commands`, undefined, own)).body.commands).toHaveLength(1);
    expect((await api('GET', `/v1/devices/${d}/config`, undefined, own)).body.desired).toBeNull();
  });

  it('works with mosquitto_sub and mosquitto_pub as the device', async () => {
    const { devices } = await provision(p, 'weather');
    const { device: d, password } = devices[0]!;
    const { hostname, port } = new URL(p.mqttUrl);
    const auth = ['-h', hostname, '-p', port, '-u', d.username, '-P', password, '-V', 'mqttv311'];
    const sub = spawn('mosquitto_sub', [...auth, '-i', 'mosq-sub', '-q', '1', '-C', '1', '-t', deviceTopic(d.id, 'commands')]);
    let out = '';
    sub.stdout.on('data', (c: Buffer) => (out += c.toString()));
    await eventually(() => (p.gateway.isOnline(d.id) ? true : undefined));
    await sleep(300); // its SUBSCRIBE
    const id = await send(d.id, { name: 'set_interval', params: { seconds: 30 } });
    await new Promise((resolve) => sub.once('exit', resolve));
    expect(JSON.parse(out)).toMatchObject({ id, name: 'set_interval', params: { seconds: 30 } });
    await eventually(async () => ((await status(d.id, id)) === 'delivered' ? true : undefined));
    const pub = spawn('mosquitto_pub', [
      ...auth,
      '-i',
      'mosq-pub',
      '-q',
      '1',
      '-t',
      commandResultTopic(d.id, id),
      '-m',
      '{"ok":true,"result":{"intervalSeconds":30}}',
    ]);
    expect(await new Promise((resolve) => pub.once('exit', resolve))).toBe(0);
    await eventually(async () => ((await status(d.id, id)) === 'succeeded' ? true : undefined));
  });
});
