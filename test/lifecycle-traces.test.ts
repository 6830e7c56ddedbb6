import fs from 'node:fs';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configTopic, deviceTopic } from '../core/topics.js';
import { SETUP_CALLER as SETUP } from '../registry/index.js';
import { readDevice } from './helpers/readings.js';
import { ADMIN_TOKEN, eventually, provision, startTestPipeline, type TestPipeline } from './helpers/pipeline.js';

/*
 * Erasure leaves no trace outside the stores either: readings published over
 * real MQTT go through the queue on disk, then the pilot is erased, and every
 * file of the data folder is read byte by byte for what its devices sent.
 * The pipeline keeps running for the other pilot throughout.
 */

/** Distinctive bytes in what the erased pilot's devices send: a value, and a payload that becomes a rejection. */
const VALUE = 9173;
const MARKER = 'erase-me-qx7-payload';

async function api(p: TestPipeline, method: string, url: string, body?: unknown) {
  const res = await fetch(`${p.apiUrl}${url}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Every file under `dir`, with its path relative to it. */
function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => fs.statSync(path.join(dir, f)).isFile());
}

/** The files under `dir` whose raw bytes hold `text`. */
const holding = (dir: string, files: string[], text: string) => files.filter((f) => fs.readFileSync(path.join(dir, f)).includes(Buffer.from(text)));

describe('erasure leaves no trace in the queue, the broker or memory', () => {
  let p: TestPipeline;
  const clients: MqttClient[] = [];
  beforeAll(async () => {
    p = await startTestPipeline();
  });
  afterAll(async () => {
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
    await p?.close();
  });

  const connect = async (d: { username: string }, password: string) => {
    const client = await mqtt.connectAsync(p.mqttUrl, { username: d.username, password, protocolVersion: 4, reconnectPeriod: 0 });
    clients.push(client);
    return client;
  };

  it('deletes the delivered queue segments and the retained configuration; other pilots go on', async () => {
    const erased = await provision(p, 'safety-beacon', 2);
    const kept = await provision(p, 'safety-beacon', 1);
    const keep = kept.devices[0]!;
    const devices = erased.devices.map((d) => d.device);
    for (const d of erased.devices) {
      const client = await connect(d.device, d.password);
      for (let i = 0; i < 20; i++) await client.publishAsync(deviceTopic(d.device.id, 'readings'), JSON.stringify({ activations: VALUE + i }), { qos: 1 });
      await client.publishAsync(deviceTopic(d.device.id, 'readings'), `not json ${MARKER}`, { qos: 1 });
    }
    const other = await connect(keep.device, keep.password);
    for (let i = 0; i < 10; i++) await other.publishAsync(deviceTopic(keep.device.id, 'readings'), JSON.stringify({ activations: i + 1 }), { qos: 1 });
    expect((await api(p, 'PUT', `/v1/devices/${devices[0]!.id}/config/desired`, { reportingIntervalSeconds: 60 })).status).toBe(200);
    await eventually(async () => (await p.gateway.retainedMessages(devices[0]!.id)) === 1 || undefined, 5000, 'the desired configuration retained');
    for (const d of devices) await eventually(async () => (await readDevice(p.stores.readings, d.id)).length === 20 || undefined, 5000, 'readings stored');
    await eventually(async () => (await readDevice(p.stores.readings, keep.device.id)).length === 10 || undefined, 5000, 'the other pilot stored');

    const queueDir = path.join(p.dataDir, 'queue');
    // Before: the queue's files hold what the devices sent, though it was delivered.
    expect(holding(queueDir, filesUnder(queueDir), MARKER).length).toBeGreaterThan(0);

    await p.registry.endPilot(SETUP.scope, erased.pilot.id);
    const started = await api(p, 'POST', `/v1/pilots/${erased.pilot.id}/erase`, { confirm: erased.pilot.name });
    expect(started.status).toBe(202);
    const done = await eventually(
      async () => {
        const erasure = (await api(p, 'GET', `/v1/pilots/${erased.pilot.id}/erasure`)).body;
        return erasure.state === 'done' ? erasure : undefined;
      },
      20_000,
      'the erasure done',
    );

    // No file of the data folder holds the distinctive value or payload; no queue file holds a device id or the pilot id.
    const files = filesUnder(p.dataDir);
    expect(holding(p.dataDir, files, MARKER)).toEqual([]);
    expect(holding(p.dataDir, files, `"activations":${VALUE}`)).toEqual([]);
    const queueFiles = filesUnder(queueDir);
    for (const needle of [erased.pilot.id, ...devices.map((d) => d.id)]) expect(holding(queueDir, queueFiles, needle)).toEqual([]);
    expect(queueFiles.filter((f) => f.endsWith('.seg')).length).toBeGreaterThan(0);
    for (const d of devices) expect(await p.gateway.retainedMessages(d.id)).toBe(0);

    // The receipt records the queue and broker checks, each zero.
    const { jws } = (await api(p, 'GET', `/v1/receipts/${String(done.receiptId)}`)).body as { jws: string };
    const claims = JSON.parse(Buffer.from(jws.split('.')[1]!, 'base64url').toString('utf8')) as { checks: { store: string; query: string; result: number }[] };
    const queueChecks = claims.checks.filter((c) => c.store === 'queue');
    expect(queueChecks.map((c) => c.query.split(' ')[2]).sort()).toEqual([erased.pilot.id, ...devices.map((d) => d.id)].sort());
    expect(
      claims.checks
        .filter((c) => c.store === 'broker')
        .map((c) => c.query)
        .sort(),
    ).toEqual(devices.map((d) => `retained ${configTopic(d.id, 'desired')}`).sort());
    expect(claims.checks.every((c) => c.result === 0)).toBe(true);

    // The other pilot's readings are all there, and its device goes on publishing into the same pipeline.
    for (let i = 0; i < 5; i++) await other.publishAsync(deviceTopic(keep.device.id, 'readings'), JSON.stringify({ activations: 100 + i }), { qos: 1 });
    const rows = await eventually(async () => {
      const stored = await readDevice(p.stores.readings, keep.device.id);
      return stored.length === 15 ? stored : undefined;
    });
    expect(rows.map((r) => r.values.activations)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 100, 101, 102, 103, 104]);
  });

  it('forgets what ingest, health and the gateway keep of a device in memory', async () => {
    const { pilot, devices } = await provision(p, 'safety-beacon', 1);
    const d = devices[0]!.device;
    const ctx = {
      deviceId: d.id,
      pilotId: pilot.id,
      companyId: pilot.companyId,
      testbedId: pilot.testbedId,
      profile: 'safety-beacon',
      pilotStartsAt: null,
      pilotEndsAt: null,
    };
    const send = async (payload: string, messageId: number, connection: number) => {
      let finish: (err?: Error | null) => void = () => {};
      const durable = new Promise<void>((resolve, reject) => (finish = (err) => (err ? reject(err) : resolve())));
      const outcome = p.ingest.accept(ctx, { payload: Buffer.from(payload), qos: 1, messageId, dup: false, connection }, (err) => finish(err));
      await durable;
      return outcome;
    };
    // Nine readings of one value: the tenth in a row would be flagged stuck (the profile's stuckAfter is 10).
    for (let i = 1; i <= 9; i++) await send(JSON.stringify({ activations: 5 }), i, 1);
    await send('not json', 10, 1);
    await eventually(() => (Object.keys(p.health.rejectionsLastHour(d.id)).length > 0 ? true : undefined), 5000, 'the rejection counted');
    const duplicates = p.ingest.stats().duplicates;
    await send('not json', 10, 2);
    expect(p.ingest.stats().duplicates).toBe(duplicates + 1);

    p.health.forgetDevices([d.id]);
    await p.gateway.forgetDevice(d.id);
    await p.ingest.eraseDevices([d.id]);

    expect(p.health.rejectionsLastHour(d.id)).toEqual({});
    expect(p.gateway.lastSeen(d.id)).toBeUndefined();
    // The quality history starts afresh: the same value is not the tenth in a row.
    const after = await send(JSON.stringify({ activations: 5 }), 11, 3);
    expect(after.readings[0]!.stuck).toBeUndefined();
    // Duplicate detection forgot the message: the same identifier and payload on a new connection is new.
    await send('not json', 10, 4);
    expect(p.ingest.stats().duplicates).toBe(duplicates + 1);
  });
});
