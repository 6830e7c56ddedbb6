import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceTopic } from '../core/topics.js';
import { call, provision, startTestCluster, type TestCluster } from './helpers/cluster.js';
import { eventually } from './helpers/wait.js';

const run = promisify(execFile);

/**
 * The single node's end-to-end flow with HAProxy in the path: registered through
 * its HTTP frontend, published with a stock client (mosquitto_pub) through its
 * TCP frontend, read back through it, and companies kept apart. One node, so it
 * holds whatever the nodes share; `cluster.test.ts` runs the same over three.
 * Its registry is the SQLite file nodes on one machine may share
 * (TESTBED_REGISTRY_FILE); the three nodes' is on PostgreSQL.
 */
describe('one node behind HAProxy', () => {
  let c: TestCluster;
  beforeAll(async () => {
    c = await startTestCluster(1, {}, { registry: 'file' });
  }, 120_000);
  afterAll(async () => {
    await c?.close();
  });

  it('registers, takes mosquitto_pub readings and reads them back, all through HAProxy; other companies see none of it', async () => {
    const t = await provision(c.proxy.apiUrl, 'Välityspalvelin Oy', 1);
    const d = t.devices[0]!;
    // Devices are told HAProxy's address (TESTBED_PUBLIC_MQTT_URL), not the node's own.
    expect(d.mqttUrl).toBe(c.proxy.mqttUrl);
    const { port } = new URL(c.proxy.mqttUrl);
    const base = Date.now() - 60_000;
    const pub = (password: string, message: string) =>
      run('mosquitto_pub', [
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
        password,
        '-t',
        deviceTopic(d.id, 'readings'),
        '-m',
        message,
      ]);
    for (let i = 0; i < 3; i++) await pub(d.password, JSON.stringify({ laeq: 50 + i, time: new Date(base + i * 1000).toISOString() }));
    // A wrong password through HAProxy is refused as it is directly.
    await expect(pub(`${d.password}x`, '{"laeq":1}')).rejects.toThrow();
    const readings = await eventually(
      async () => {
        const r = await call(c.proxy.apiUrl, 'GET', `/v1/devices/${d.id}/readings?from=${new Date(base - 1000).toISOString()}`, t.key);
        return r.body.readings?.length === 3 ? r.body.readings : undefined;
      },
      10_000,
      'three readings through HAProxy',
    );
    expect(readings.map((r: { values: { laeq: number } }) => r.values.laeq)).toEqual([50, 51, 52]);

    const other = await provision(c.proxy.apiUrl, 'Toinen Oy', 0);
    for (const path of [`/v1/devices/${d.id}`, `/v1/devices/${d.id}/readings`, `/v1/pilots/${t.pilotId}`]) {
      const theirs = await call(c.proxy.apiUrl, 'GET', path, other.key);
      const missing = await call(c.proxy.apiUrl, 'GET', path.replace(d.id, 'dev_doesnotexist00').replace(t.pilotId, 'pi_doesnotexist000'), other.key);
      expect(theirs.status, path).toBe(404);
      expect(theirs.body).toEqual(missing.body);
    }
  }, 60_000);
});
