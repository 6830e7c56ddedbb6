import { execFile } from 'node:child_process';
import net from 'node:net';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, CLUSTER_ADMIN, openLiveStream, provision, startTestCluster, type TestCluster } from './helpers/cluster.js';
import { deviceTopic } from '../core/topics.js';
import { eventually } from './helpers/wait.js';

const run = promisify(execFile);

/**
 * Three `testbed start` processes behind Debian's HAProxy, with one InfluxDB,
 * one registry file (TESTBED_REGISTRY_FILE) and one Redis, all real.
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
      expect(admin.cluster.registry).toBe('postgres');
      expect(admin.cluster.coordination).toBe('redis');
    }
  });

  it('signs receipts with one key on every node, so a receipt verifies whichever node answers', async () => {
    const keys = await Promise.all(c.nodes.map(async (n) => (await fetch(`${n.apiUrl}/.well-known/testbed-receipt-key`)).json()));
    expect(keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519' });
    for (const key of keys.slice(1)) expect(key).toEqual(keys[0]);
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

  const connect = (url: string, d: { id: string; username: string; password: string }) =>
    mqtt.connectAsync(url, { username: d.username, password: d.password, clientId: `c-${d.id}`, protocolVersion: 4, reconnectPeriod: 0 });

  describe('with the registry shared (one SQLite file on this machine)', () => {
    it('registers through HAProxy, spreads devices over the nodes, and takes mosquitto_pub readings back through HAProxy', async () => {
      const t = await provision(c.proxy.apiUrl, 'Spread Oy', 12);
      // Devices are told HAProxy's address, whichever node registered them.
      expect(new Set(t.devices.map((d) => d.mqttUrl))).toEqual(new Set([c.proxy.mqttUrl]));
      const clients = await Promise.all(t.devices.map((d) => connect(c.proxy.mqttUrl, d)));
      try {
        const perNode = await Promise.all(c.nodes.map(async (n) => (await health(n.apiUrl, CLUSTER_ADMIN)).gateway.connectedDevices as number));
        expect(perNode.reduce((a, b) => a + b, 0)).toBe(12);
        for (const count of perNode) expect(count).toBeGreaterThan(0);
      } finally {
        await Promise.all(clients.map((client) => client.endAsync()));
      }
      const d = t.devices[0]!;
      const base = Date.now() - 60_000;
      const { port } = new URL(c.proxy.mqttUrl);
      for (let i = 0; i < 3; i++) {
        const message = JSON.stringify({ laeq: 50 + i, time: new Date(base + i * 1000).toISOString() });
        await run('mosquitto_pub', [
          '-h',
          '127.0.0.1',
          '-p',
          port,
          '-V',
          'mqttv311',
          '-q',
          '1',
          '-u',
          d.username,
          '-P',
          d.password,
          '-t',
          deviceTopic(d.id, 'readings'),
          '-m',
          message,
        ]);
      }
      const from = new Date(base - 1000).toISOString();
      // Several reads: each may be answered by another node, and every one of them sees the three.
      for (let i = 0; i < 3; i++) {
        const readings = await eventually(
          async () => {
            const r = await call(c.proxy.apiUrl, 'GET', `/v1/devices/${d.id}/readings?from=${from}`, t.key);
            return r.body.readings?.length === 3 ? r.body.readings : undefined;
          },
          10_000,
          'three readings through HAProxy',
        );
        expect(readings.map((r: { values: { laeq: number } }) => r.values.laeq)).toEqual([50, 51, 52]);
      }
    }, 60_000);

    it('keeps companies apart through HAProxy, whichever node answers', async () => {
      const a = await provision(c.proxy.apiUrl, 'Oma Oy', 1);
      const b = await provision(c.proxy.apiUrl, 'Muu Oy', 1);
      const answered = new Set<string>();
      for (let i = 0; i < 6; i++) {
        const theirs = await call(c.proxy.apiUrl, 'GET', `/v1/devices/${a.devices[0]!.id}`, b.key);
        const missing = await call(c.proxy.apiUrl, 'GET', '/v1/devices/dev_doesnotexist00', b.key);
        expect(theirs.status).toBe(404);
        expect(theirs.body).toEqual(missing.body);
        expect((await call(c.proxy.apiUrl, 'GET', `/v1/pilots/${a.pilotId}`, b.key)).status).toBe(404);
        expect((await call(c.proxy.apiUrl, 'GET', `/v1/devices/${a.devices[0]!.id}`, a.key)).status).toBe(200);
        answered.add((await health(c.proxy.apiUrl)).node.id);
      }
      expect(answered.size).toBe(3);
    });
  });

  describe('with coordination on Redis', () => {
    it("a company's live stream on node 1 sees readings arriving through nodes 2 and 3", async () => {
      const t = await provision(c.nodes[0]!.apiUrl, 'Live Oy', 2);
      const live = await openLiveStream(c.nodes[0]!.apiUrl, t.pilotId, t.key);
      expect(live.status).toBe(200);
      const clients = await Promise.all([connect(c.nodes[1]!.mqttUrl, t.devices[0]!), connect(c.nodes[2]!.mqttUrl, t.devices[1]!)]);
      try {
        for (const [i, client] of clients.entries())
          await client.publishAsync(deviceTopic(t.devices[i]!.id, 'readings'), JSON.stringify({ laeq: 60 + i }), { qos: 1 });
        await eventually(() => (t.devices.every((d) => live.text().includes(d.id)) ? true : undefined), 10_000, 'both readings on the stream of node 1');
      } finally {
        await live.close();
        await Promise.all(clients.map((client) => client.endAsync()));
      }
    }, 30_000);

    it('disconnects a device revoked through node 1 from node 3, and keeps it out of every node', async () => {
      const t = await provision(c.nodes[0]!.apiUrl, 'Revoke Oy', 1);
      const d = t.devices[0]!;
      const client = await connect(c.nodes[2]!.mqttUrl, d);
      const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
      expect((await call(c.nodes[0]!.apiUrl, 'POST', `/v1/devices/${d.id}/revoke`, t.key)).status).toBe(200);
      await Promise.race([closed, eventually(() => undefined, 10_000, 'the connection on node 3 closed')]);
      for (const node of c.nodes) await expect(connect(node.mqttUrl, d)).rejects.toThrow();
    }, 30_000);
  });
});
