import { setTimeout as sleep } from 'node:timers/promises';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceTopic } from '../core/topics.js';
import { call, openLiveStream, provision, startTestCluster, type TestCluster } from './helpers/cluster.js';
import { eventually } from './helpers/wait.js';

/**
 * The shared engines restarted under a running cluster. Redis: the nodes pick it
 * up again without a restart of their own, and what crosses nodes (the live
 * feed) flows again. PostgreSQL: while it is down the API answers 503
 * TESTBED_REGISTRY_UNAVAILABLE and connected devices' readings are still
 * acknowledged (to each node's queue on disk); once it is back, everything
 * answers again and every acknowledged reading is there.
 */
describe('a cluster whose Redis and PostgreSQL restart', () => {
  let c: TestCluster;
  beforeAll(async () => {
    c = await startTestCluster(3);
  }, 120_000);
  afterAll(async () => {
    await c?.close();
  });

  it('carries the live feed across nodes again after Redis restarts, without restarting a node', async () => {
    const t = await provision(c.nodes[0]!.apiUrl, 'Uudelleen Oy', 1);
    await c.redis.restart();
    const live = await openLiveStream(c.nodes[0]!.apiUrl, t.pilotId, t.key);
    expect(live.status).toBe(200);
    const d = t.devices[0]!;
    const client = await mqtt.connectAsync(c.nodes[2]!.mqttUrl, { username: d.username, password: d.password, protocolVersion: 4, reconnectPeriod: 0 });
    try {
      // Published again until seen: the nodes reconnect to Redis on their own schedule.
      await eventually(
        async () => {
          await client.publishAsync(deviceTopic(d.id, 'readings'), JSON.stringify({ laeq: 61 }), { qos: 1 });
          await sleep(500);
          return live.text().includes(d.id) ? true : undefined;
        },
        30_000,
        'a reading through node 3 on the stream of node 1',
      );
    } finally {
      await live.close();
      await client.endAsync();
    }
  }, 60_000);

  it('rides out a PostgreSQL restart: 503 with a clear error while it is down, readings acknowledged throughout', async () => {
    const t = await provision(c.nodes[0]!.apiUrl, 'Katko Oy', 1);
    const d = t.devices[0]!;
    // Connected before PostgreSQL goes: credentials are checked at CONNECT, not per reading.
    const client = await mqtt.connectAsync(c.nodes[1]!.mqttUrl, { username: d.username, password: d.password, protocolVersion: 4, reconnectPeriod: 0 });
    const base = Date.now() - 60_000;
    try {
      await c.postgres!.kill();
      for (const node of c.nodes) {
        const down = await call(node.apiUrl, 'GET', `/v1/pilots/${t.pilotId}`, t.key);
        expect(down.status, node.id).toBe(503);
        expect(down.body).toMatchObject({ error: { code: 'TESTBED_REGISTRY_UNAVAILABLE', message: expect.stringContaining('registry') } });
      }
      // A device connecting now cannot be checked: CONNACK 3, server unavailable (and no failed login counted).
      await expect(
        mqtt.connectAsync(c.nodes[2]!.mqttUrl, { username: d.username, password: d.password, protocolVersion: 4, reconnectPeriod: 0 }),
      ).rejects.toMatchObject({ code: 3 });
      // Acknowledged while the registry is down: publishAsync resolves on PUBACK.
      for (let i = 0; i < 20; i++) {
        await client.publishAsync(deviceTopic(d.id, 'readings'), JSON.stringify({ laeq: 40 + i, time: new Date(base + i * 1000).toISOString() }), { qos: 1 });
      }
      await c.postgres!.restart();
      let last: unknown;
      const readings = await eventually(
        async () => {
          const r = await call(c.proxy.apiUrl, 'GET', `/v1/devices/${d.id}/readings?from=${new Date(base - 1000).toISOString()}&limit=100`, t.key);
          last = r;
          return r.status === 200 && r.body.readings?.length === 20 ? (r.body.readings as { values: { laeq: number } }[]) : undefined;
        },
        30_000,
        'the 20 readings acknowledged while PostgreSQL was down, read back once it is up',
      ).catch((err: Error) => {
        throw new Error(`${err.message}; the last answer: ${JSON.stringify(last)}`);
      });
      expect(readings.map((r) => r.values.laeq).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => 40 + i));
      // New connections are checked against the registry again.
      const again = await mqtt.connectAsync(c.nodes[2]!.mqttUrl, { username: d.username, password: d.password, protocolVersion: 4, reconnectPeriod: 0 });
      await again.endAsync();
    } finally {
      await client.endAsync();
    }
  }, 90_000);
});
