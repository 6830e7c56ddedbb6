import fs from 'node:fs';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceTopic } from '../core/topics.js';
import { ADMIN_TOKEN, eventually, provision, startTestPipeline, type TestPipeline } from './helpers/pipeline.js';
import { RawMqttDevice } from './helpers/raw-mqtt.js';
import { startRedis, type RedisServer } from './helpers/redis.js';
import { tempDir } from './helpers/tmp.js';

/*
 * Two gateway nodes in one process sharing one real redis-server: each with
 * its own data folder (queue, reading store), one registry file between them.
 * Devices are real mqtt clients over TCP; the API is real HTTP.
 */
describe('two gateway nodes on one Redis', () => {
  let redis: RedisServer;
  let node1: TestPipeline;
  let node2: TestPipeline;
  let dir2: { dir: string; remove(): void };
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    node1 = await startTestPipeline({ TESTBED_REDIS_URL: redis.url, TESTBED_NODE_ID: 'node-1' });
    // The registry is shared through its file: node 2's data folder links to node 1's.
    dir2 = tempDir();
    fs.symlinkSync(path.join(node1.dataDir, 'registry.db'), path.join(dir2.dir, 'registry.db'));
    node2 = await startTestPipeline({ TESTBED_REDIS_URL: redis.url, TESTBED_NODE_ID: 'node-2', TESTBED_DATA_DIR: dir2.dir });
  }, 30_000);
  afterAll(async () => {
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
    await node2?.stop();
    dir2?.remove();
    await node1?.close();
    await redis?.stop();
  }, 30_000);

  async function api(node: TestPipeline, method: string, route: string, body?: object, key: string | null = ADMIN_TOKEN) {
    const res = await fetch(`${node.apiUrl}${route}`, {
      method,
      headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  /** A device on `node`, subscribed to its commands (QoS 1) and errors, recording what arrives. */
  async function device(node: TestPipeline, username: string, password: string, deviceId: string) {
    const client = await mqtt.connectAsync(node.mqttUrl, { username, password, protocolVersion: 4, reconnectPeriod: 0 });
    clients.push(client);
    const got = { commands: [] as { id: string }[], errors: [] as { code: string }[], closed: false };
    client.on('message', (topic, payload) => {
      if (topic === deviceTopic(deviceId, 'commands')) got.commands.push(JSON.parse(payload.toString()) as { id: string });
      if (topic === deviceTopic(deviceId, 'errors')) got.errors.push(JSON.parse(payload.toString()) as { code: string });
    });
    client.on('close', () => (got.closed = true));
    await client.subscribeAsync(deviceTopic(deviceId, 'errors'), { qos: 0 });
    await client.subscribeAsync(deviceTopic(deviceId, 'commands'), { qos: 1 });
    return { client, got };
  }

  /** A pilot's live stream (SSE) on `node`: how many readings it has carried so far. */
  async function liveStream(node: TestPipeline, pilotId: string) {
    const res = await fetch(`${node.apiUrl}/v1/pilots/${pilotId}/live`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}`, accept: 'text/event-stream' } });
    expect(res.status).toBe(200);
    let text = '';
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    void (async () => {
      for (;;) {
        const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
        if (done) break;
        text += decoder.decode(value, { stream: true });
      }
    })();
    return { count: () => (text.match(/"pm25":/g) ?? []).length, close: () => reader.cancel().catch(() => undefined) };
  }

  it('sends a command and an error notice from node 1 to a device connected to node 2, and knows it is online there', async () => {
    const { devices } = await provision(node1, 'weather');
    const { device: d, password } = devices[0]!;
    const dev = await device(node2, d.username, password, d.id);
    expect(node1.gateway.isOnline(d.id)).toBe(false);
    // Node 1 learns of node 2 at its next heartbeat, and of the device from node 2's message or hash.
    await eventually(
      async () => ((await api(node1, 'GET', `/v1/devices/${d.id}`)).body.connection as { online: boolean }).online || undefined,
      10_000,
      'online through node 1',
    );

    node1.gateway.notify({ deviceId: d.id, code: 'TESTBED_READING_NOT_JSON', reason: 'from node 1' });
    await eventually(() => (dev.got.errors.length > 0 ? true : undefined), 5000, 'the notice on node 2');

    const sent = await api(node1, 'POST', `/v1/devices/${d.id}/commands`, { name: 'set_interval', params: { seconds: 30 } });
    expect(sent.status).toBe(201);
    await eventually(() => (dev.got.commands.some((c) => c.id === sent.body.id) ? true : undefined), 5000, 'the command on node 2');
    await eventually(async () =>
      (await api(node1, 'GET', `/v1/devices/${d.id}/commands/${String(sent.body.id)}`)).body.status === 'delivered' ? true : undefined,
    );
  });

  it('resumes a persistent session on the other node, and a connection on one node is taken over by the same client id on the other', async () => {
    const { devices } = await provision(node1, 'weather');
    const { device: d, password } = devices[0]!;
    const options = { username: d.username, password, protocolVersion: 4 as const, reconnectPeriod: 0, clientId: 'lamp-1', clean: false };
    const first = await mqtt.connectAsync(node1.mqttUrl, options);
    clients.push(first);
    await first.subscribeAsync(deviceTopic(d.id, 'commands'), { qos: 1 });
    let closed = false;
    first.on('close', () => (closed = true));
    // [MQTT-3.1.4-2] the same client id connecting to node 2 closes the connection on node 1.
    const second = await mqtt.connectAsync(node2.mqttUrl, options);
    clients.push(second);
    await eventually(() => (closed ? true : undefined), 5000, 'the takeover of the connection on node 1');
    const received: string[] = [];
    second.on('message', (topic, payload) => received.push((JSON.parse(payload.toString()) as { id: string }).id));
    // The session's subscription, made on node 1, came back from Redis on node 2: commands go to it without a SUBSCRIBE.
    const sent = await api(node1, 'POST', `/v1/devices/${d.id}/commands`, { name: 'set_interval', params: { seconds: 60 } });
    await eventually(() => (received.includes(sent.body.id as string) ? true : undefined), 5000, 'the command on the resumed session');
  });

  it('disconnects a device on node 2 when it is revoked through node 1', async () => {
    const { devices } = await provision(node1, 'weather');
    const { device: d, password } = devices[0]!;
    const dev = await device(node2, d.username, password, d.id);
    expect((await api(node1, 'POST', `/v1/devices/${d.id}/revoke`)).status).toBe(200);
    await eventually(() => (dev.got.closed ? true : undefined), 5000, 'the disconnect on node 2');
    await eventually(
      async () => ((await api(node1, 'GET', `/v1/devices/${d.id}`)).body.connection as { online: boolean }).online === false || undefined,
      10_000,
    );
  });

  it('streams on node 2 the readings stored by node 1, each once', async () => {
    const { pilot, devices } = await provision(node1, 'air-quality');
    const { device: d, password } = devices[0]!;
    const feed = await liveStream(node2, pilot.id);
    const client = await mqtt.connectAsync(node1.mqttUrl, { username: d.username, password, protocolVersion: 4, reconnectPeriod: 0 });
    clients.push(client);
    for (const pm25 of [11, 12, 13]) await client.publishAsync(deviceTopic(d.id, 'readings'), JSON.stringify({ pm25 }), { qos: 1 });
    await eventually(() => (feed.count() >= 3 ? true : undefined), 5000, 'three readings on node 2');
    await new Promise((r) => setTimeout(r, 300));
    expect(feed.count()).toBe(3);
    await feed.close();
  });

  it('recognises on node 2 a DUP resend of a message node 1 acknowledged', async () => {
    const { devices } = await provision(node1, 'air-quality');
    const { device: d, password } = devices[0]!;
    const topic = deviceTopic(d.id, 'readings');
    const payload = Buffer.from(JSON.stringify({ pm25: 42 }));
    const first = await RawMqttDevice.connect(node1.mqttUrl, d.username, password);
    first.send({ cmd: 'publish', topic, payload, qos: 1, messageId: 77, retain: false, dup: false });
    await first.next((p) => p.cmd === 'puback' && p.messageId === 77);
    await first.drop();
    const before = node2.ingest.stats();
    const again = await RawMqttDevice.connect(node2.mqttUrl, d.username, password);
    // Written to Redis with the acknowledgement round: give the pipeline a moment.
    await new Promise((r) => setTimeout(r, 100));
    again.send({ cmd: 'publish', topic, payload, qos: 1, messageId: 77, retain: false, dup: true });
    await again.next((p) => p.cmd === 'puback' && p.messageId === 77);
    expect(node2.ingest.stats().duplicates).toBe(before.duplicates + 1);
    expect(node2.ingest.stats().readings).toBe(before.readings);
    await again.drop();
  });

  it('shares the rate limit of requests without a key between the nodes', async () => {
    // 20 requests in a burst from one address (5 a second after): 15 on each node are over it together, not alone.
    const statuses: number[] = [];
    for (const node of [node1, node2]) for (let i = 0; i < 15; i++) statuses.push((await api(node, 'GET', '/sta/v1.1/Things', undefined, null)).status);
    expect(statuses.slice(0, 15).every((s) => s === 200)).toBe(true);
    expect(statuses.slice(15)).toContain(429);
  });

  it('acknowledges and streams readings locally while Redis is down, and cross-node delivery comes back after its restart', async () => {
    const remote = (await provision(node1, 'weather')).devices[0]!;
    const dev = await device(node2, remote.device.username, remote.password, remote.device.id);
    const { pilot, devices } = await provision(node1, 'air-quality');
    const local = devices[0]!;
    const feed = await liveStream(node1, pilot.id);
    const sensor = await mqtt.connectAsync(node1.mqttUrl, {
      username: local.device.username,
      password: local.password,
      protocolVersion: 4,
      reconnectPeriod: 0,
    });
    clients.push(sensor);

    await redis.kill();
    // The reading path never waits for Redis: PUBACK (the reading on disk), storage and the node's own live stream go on.
    const acked = sensor.publishAsync(deviceTopic(local.device.id, 'readings'), JSON.stringify({ pm25: 7 }), { qos: 1 });
    await Promise.race([acked, new Promise((_, reject) => setTimeout(() => reject(new Error('no PUBACK while Redis is down')), 5000))]);
    await eventually(() => (feed.count() === 1 ? true : undefined), 5000, 'the reading on the live stream of its own node');

    await redis.restart();
    await eventually(
      () => {
        node1.gateway.notify({ deviceId: remote.device.id, code: 'TESTBED_READING_NOT_JSON', reason: 'after the restart' });
        return dev.got.errors.length > 0 ? true : undefined;
      },
      15_000,
      'a notice from node 1 after Redis restarted',
    );
    // The restarted Redis lost every key: each node writes its presence again.
    await eventually(
      async () => ((await api(node1, 'GET', `/v1/devices/${remote.device.id}`)).body.connection as { online: boolean }).online || undefined,
      10_000,
      'online through node 1 after the restart',
    );
    expect((await api(node1, 'POST', `/v1/devices/${remote.device.id}/revoke`)).status).toBe(200);
    await eventually(() => (dev.got.closed ? true : undefined), 5000, 'the disconnect on node 2 after the restart');
    await feed.close();
  }, 40_000);

  it('stops a node while Redis is down without waiting for it', async () => {
    const dir3 = tempDir();
    fs.symlinkSync(path.join(node1.dataDir, 'registry.db'), path.join(dir3.dir, 'registry.db'));
    const node3 = await startTestPipeline({ TESTBED_REDIS_URL: redis.url, TESTBED_NODE_ID: 'node-3', TESTBED_DATA_DIR: dir3.dir });
    const { devices } = await provision(node3, 'weather');
    await device(node3, devices[0]!.device.username, devices[0]!.password, devices[0]!.device.id);
    await redis.kill();
    const started = Date.now();
    await node3.stop();
    expect(Date.now() - started).toBeLessThan(8000);
    dir3.remove();
    await redis.restart();
  }, 30_000);
});
