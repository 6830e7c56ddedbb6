import { setTimeout as sleep } from 'node:timers/promises';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceTopic } from '../core/topics.js';
import { call, CLUSTER_ADMIN, provision, SHARES_COORDINATION, SHARES_REGISTRY, startTestCluster, type TestCluster } from './helpers/cluster.js';
import { eventually } from './helpers/wait.js';

/**
 * The shared engines restarted under a running cluster: the nodes ride out
 * PostgreSQL going away (the API answers 503 with a code, devices already
 * connected keep being acknowledged from the local queue) and pick Redis up
 * again without a restart of their own.
 */
describe.runIf(SHARES_REGISTRY)('a cluster whose shared engines restart', () => {
  let c: TestCluster;
  beforeAll(async () => {
    c = await startTestCluster(3);
  }, 120_000);
  afterAll(async () => {
    await c?.close();
  });

  async function storedCount(companyId: string): Promise<number> {
    const answer = (await c.influxd.query(`SELECT count("laeq") FROM "readings" WHERE "company" = '${companyId}'`, { db: c.db })) as {
      results: { series?: { values: [string, number][] }[] }[];
    };
    return answer.results[0]?.series?.[0]?.values[0]?.[1] ?? 0;
  }

  it('answers 503 while PostgreSQL is down, keeps acknowledging connected devices, and stores it all once it is back', async () => {
    const t = await provision(c.proxy.apiUrl, 'Kantaton Oy', 3);
    const clients = await Promise.all(
      t.devices.map((d) =>
        mqtt.connectAsync(c.proxy.mqttUrl, { username: d.username, password: d.password, clientId: `pg-${d.id}`, protocolVersion: 4, reconnectPeriod: 0 }),
      ),
    );
    try {
      await c.postgres.kill();
      const down = await call(c.proxy.apiUrl, 'GET', '/v1/companies', CLUSTER_ADMIN);
      expect(down.status).toBe(503);
      expect(down.body.error.code).toMatch(/^TESTBED_[A-Z_]+$/);
      // Health still answers (load balancers keep the nodes in), whatever it says of the registry.
      expect((await call(c.proxy.apiUrl, 'GET', '/v1/health', undefined)).status).toBe(200);
      const base = Date.now() - 600_000;
      for (const [i, client] of clients.entries()) {
        for (let n = 0; n < 5; n++)
          await client.publishAsync(deviceTopic(t.devices[i]!.id, 'readings'), JSON.stringify({ laeq: 50, time: base + n * 1000 }), { qos: 1 });
      }
      await sleep(1000);
      await c.postgres.restart();
      await eventually(
        async () => ((await call(c.proxy.apiUrl, 'GET', '/v1/companies', CLUSTER_ADMIN)).status === 200 ? true : undefined),
        30_000,
        'the API back',
      );
      await eventually(async () => ((await storedCount(t.companyId)) >= 15 ? true : undefined), 30_000, '15 readings stored');
      expect(await storedCount(t.companyId)).toBe(15);
    } finally {
      await Promise.all(clients.map((client) => client.endAsync(true)));
      await c.postgres.restart().catch(() => {});
    }
  }, 120_000);

  it.runIf(SHARES_COORDINATION)(
    'carries the live feed across nodes again after Redis restarts, without restarting a node',
    async () => {
      const t = await provision(c.nodes[0]!.apiUrl, 'Uudelleen Oy', 1);
      await c.redis.restart();
      const res = await fetch(`${c.nodes[0]!.apiUrl}/v1/pilots/${t.pilotId}/live`, {
        headers: { authorization: `Bearer ${t.key}`, accept: 'text/event-stream' },
      });
      expect(res.status).toBe(200);
      let text = '';
      const reader = res.body!.getReader();
      void (async () => {
        for (;;) {
          const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
          if (done) break;
          text += new TextDecoder().decode(value);
        }
      })();
      const d = t.devices[0]!;
      const client = await mqtt.connectAsync(c.nodes[2]!.mqttUrl, { username: d.username, password: d.password, protocolVersion: 4, reconnectPeriod: 0 });
      try {
        // Published again until seen: the nodes reconnect to Redis on their own schedule.
        await eventually(
          async () => {
            await client.publishAsync(deviceTopic(d.id, 'readings'), JSON.stringify({ laeq: 61 }), { qos: 1 });
            await sleep(500);
            return text.includes(d.id) ? true : undefined;
          },
          30_000,
          'a reading through node 3 on the stream of node 1',
        );
      } finally {
        await reader.cancel();
        await client.endAsync();
      }
    },
    60_000,
  );
});
