import { setTimeout as sleep } from 'node:timers/promises';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceTopic } from '../core/topics.js';
import { openLiveStream, provision, startTestCluster, type TestCluster } from './helpers/cluster.js';
import { eventually } from './helpers/wait.js';

/**
 * Redis restarted under a running cluster: the nodes pick it up again without
 * a restart of their own, and what crosses nodes (the live feed) flows again.
 */
describe('a cluster whose Redis restarts', () => {
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
});
