import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, CLUSTER_ADMIN, SHARES_COORDINATION, SHARES_REGISTRY, startTestCluster, type TestCluster } from './helpers/cluster.js';
import { eventually } from './helpers/wait.js';

/**
 * Three `testbed start` processes behind Debian's HAProxy, with one InfluxDB,
 * PostgreSQL and Redis, all real. The tests marked `shared registry` need
 * TESTBED_DATABASE_URL to be read (the registry on PostgreSQL), those marked
 * `coordination` TESTBED_REDIS_URL; the others hold whatever the nodes share.
 */
describe('a cluster of three nodes behind HAProxy', () => {
  let c: TestCluster;
  beforeAll(async () => {
    c = await startTestCluster(3);
  }, 120_000);
  afterAll(async () => {
    await c?.close();
  });

  const health = async (base: string, key?: string) => (await call(base, 'GET', '/v1/health', key)).body;

  it('names each node in its health, to every caller; the cluster view is for admin and operator keys', async () => {
    for (const node of c.nodes) {
      const anonymous = await health(node.apiUrl);
      expect(anonymous.node).toMatchObject({ id: node.id });
      expect(Date.parse(anonymous.node.startedAt)).toBeLessThanOrEqual(Date.now());
      expect(anonymous.cluster).toBeUndefined();
      const admin = await health(node.apiUrl, CLUSTER_ADMIN);
      expect(admin.node).toEqual(anonymous.node);
      expect(admin.cluster.nodes.map((n: { id: string }) => n.id)).toContain(node.id);
      expect(admin.cluster.registry).toBe(SHARES_REGISTRY ? 'postgres' : 'sqlite');
      expect(admin.cluster.coordination).toBe(SHARES_COORDINATION ? 'redis' : 'none');
    }
  });

  it('spreads API requests over every node, and MQTT connections evenly', async () => {
    const answered = new Set<string>();
    for (let i = 0; i < 9; i++) answered.add((await health(c.proxy.apiUrl)).node.id);
    expect([...answered].sort()).toEqual(c.nodes.map((n) => n.id));
    // Sockets that never send CONNECT: HAProxy's least-connections balancing alone decides where they go.
    const { port } = new URL(c.proxy.mqttUrl);
    const sockets = await Promise.all(
      Array.from(
        { length: 6 },
        () =>
          new Promise<net.Socket>((resolve) =>
            net.connect({ host: '127.0.0.1', port: Number(port) }, function (this: net.Socket) {
              resolve(this);
            }),
          ),
      ),
    );
    try {
      const sessions = await eventually(
        async () => {
          const servers = await c.proxy.servers();
          const counts = c.nodes.map((n) => servers[`mqtt_nodes/${n.id}`]?.sessions ?? 0);
          return counts.reduce((a, b) => a + b, 0) >= 6 ? counts : undefined;
        },
        5000,
        'six MQTT connections at the nodes',
      );
      expect(sessions).toEqual([2, 2, 2]);
    } finally {
      for (const s of sockets) s.destroy();
    }
  });

  it('takes a killed node out of both frontends within seconds, and back in when it restarts', async () => {
    const victim = c.nodes[1]!;
    const before = (await health(victim.apiUrl)).node.startedAt as string;
    await victim.process.kill('SIGKILL');
    await eventually(
      async () => {
        const servers = await c.proxy.servers();
        return servers[`mqtt_nodes/${victim.id}`]?.status === 'DOWN' && servers[`api_nodes/${victim.id}`]?.status === 'DOWN' ? true : undefined;
      },
      10_000,
      `${victim.id} DOWN in HAProxy`,
    );
    // Every request through HAProxy is answered, by the others.
    for (let i = 0; i < 6; i++) {
      const answer = await call(c.proxy.apiUrl, 'GET', '/v1/health', undefined);
      expect(answer.status).toBe(200);
      expect(answer.body.node.id).not.toBe(victim.id);
    }
    await victim.process.start();
    await eventually(
      async () => {
        const servers = await c.proxy.servers();
        return servers[`mqtt_nodes/${victim.id}`]?.status === 'UP' && servers[`api_nodes/${victim.id}`]?.status === 'UP' ? true : undefined;
      },
      10_000,
      `${victim.id} UP again`,
    );
    const after = (await health(victim.apiUrl)).node;
    expect(after.id).toBe(victim.id);
    expect(Date.parse(after.startedAt)).toBeGreaterThan(Date.parse(before));
  }, 60_000);
});
