import fs from 'node:fs';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceTopic } from '../core/topics.js';
import { ADMIN_TOKEN, eventually, provision, startTestPipeline, type TestPipeline } from './helpers/pipeline.js';
import { readDevice } from './helpers/readings.js';

const MB = 1024 * 1024;
/** Free space the test's filler takes beyond the threshold; a margin for other writers on the same disk. */
const MARGIN_MB = 400;

/** Free bytes for an unprivileged writer, as the gateway reads them. */
function freeBytes(dir: string): number {
  const s = fs.statfsSync(dir);
  return s.bavail * s.bsize;
}

/** Writes `bytes` of real (not sparse) data, a chunk at a time. */
function fill(file: string, bytes: number): void {
  const chunk = Buffer.alloc(16 * MB, 1);
  const fd = fs.openSync(file, 'w');
  try {
    for (let written = 0; written < bytes; written += chunk.length) fs.writeSync(fd, chunk);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

describe('a data folder short of space (TESTBED_DISK_MIN_FREE_MB)', () => {
  let p: TestPipeline;
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    // The threshold sits MARGIN_MB below the free space now: filling twice that crosses it.
    const probe = fs.mkdtempSync(path.join(process.env.TMPDIR ?? '/tmp', 'testbed-disk-'));
    const minFreeMb = Math.floor(freeBytes(probe) / MB) - MARGIN_MB;
    fs.rmSync(probe, { recursive: true });
    p = await startTestPipeline({ TESTBED_DISK_MIN_FREE_MB: String(minFreeMb) });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true)));
    fs.rmSync(path.join(p.dataDir, 'filler'), { force: true });
    await p?.close();
  });

  const health = async () =>
    (await (await fetch(`${p.apiUrl}/v1/health`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json()) as {
      status: string;
      disk: { low: boolean; freeBytes: number; minFreeBytes: number };
    };
  const connect = (username: string, password: string) =>
    mqtt.connectAsync(p.mqttUrl, { username, password, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000 }).then((c) => (clients.push(c), c));

  it('refuses before the disk is full, acknowledges nothing it cannot keep, says so in /v1/health, and resumes by itself', async () => {
    const { device, password } = (await provision(p, 'noise', 1)).devices[0]!;
    const topic = deviceTopic(device.id, 'readings');
    let acknowledged = 0;
    const before = await connect(device.username, password);
    await before.publishAsync(topic, JSON.stringify({ laeq: 1, time: Date.now() - 5000 }), { qos: 1 });
    acknowledged++;
    expect(await health()).toMatchObject({ status: 'ok', disk: { low: false } });

    fill(path.join(p.dataDir, 'filler'), 2 * MARGIN_MB * MB);
    await eventually(async () => ((await health()).disk.low ? true : undefined), 5000, 'disk.low in /v1/health');
    expect((await health()).status).toBe('failing');
    // The connected device's PUBLISH is not acknowledged: its connection is closed.
    const closed = new Promise<void>((resolve) => before.once('close', () => resolve()));
    let acked = false;
    before.publish(topic, JSON.stringify({ laeq: 2, time: Date.now() - 4000 }), { qos: 1 }, (err) => (acked = !err));
    await closed;
    expect(acked).toBe(false);
    // A new CONNECT is refused with CONNACK 3 (server unavailable).
    await expect(connect(device.username, password)).rejects.toMatchObject({ code: 3 });

    fs.rmSync(path.join(p.dataDir, 'filler'));
    const after = await eventually(() => connect(device.username, password).catch(() => undefined), 5000, 'a CONNECT accepted again');
    await after.publishAsync(topic, JSON.stringify({ laeq: 3, time: Date.now() - 3000 }), { qos: 1 });
    acknowledged++;
    expect((await health()).status).toBe('ok');
    // Acknowledged equals stored.
    const rows = await eventually(async () => {
      const got = await readDevice(p.stores.readings, device.id, { limit: 10 });
      return got.length === acknowledged ? got : undefined;
    });
    expect(rows.map((r) => r.values.laeq)).toEqual([1, 3]);
  });
});
