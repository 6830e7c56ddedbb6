import path from 'node:path';
import { childPipeline, type ChildPipeline } from './child-pipeline.js';
import { startHaproxyFor, type Haproxy } from './haproxy.js';
import { eventually } from './wait.js';
import { startInfluxd, type Influxd } from './influxd.js';
import { startPostgres, type PostgresServer } from './postgres.js';
import { freePorts } from './ports.js';
import { startRedis, type RedisServer } from './redis.js';
import { tempDir } from './tmp.js';

export const CLUSTER_ADMIN = 'cluster-admin-token-0123456789abcdef';

export interface ClusterNodeUnderTest {
  /** TESTBED_NODE_ID */
  readonly id: string;
  readonly process: ChildPipeline;
  /** This node's own addresses, beside HAProxy. */
  readonly apiUrl: string;
  readonly mqttUrl: string;
}

export interface TestCluster {
  readonly nodes: readonly ClusterNodeUnderTest[];
  readonly proxy: Haproxy;
  readonly influxd: Influxd;
  readonly redis: RedisServer;
  /** The registry's PostgreSQL (TESTBED_DATABASE_URL), unless the nodes share a registry file. */
  readonly postgres: PostgresServer | undefined;
  /** The InfluxDB database the nodes write to. */
  readonly db: string;
  close(): Promise<void>;
}

/**
 * `count` separate `testbed start` processes, each with its own data folder and
 * ports, behind Debian's HAProxy, sharing one influxd, one registry on
 * PostgreSQL (TESTBED_DATABASE_URL; with `registry: 'file'`, one SQLite file,
 * TESTBED_REGISTRY_FILE) and one Redis (TESTBED_REDIS_URL), all on 127.0.0.1.
 */
export async function startTestCluster(
  count = 3,
  extraEnv: Record<string, string> = {},
  options: { readonly registry?: 'postgres' | 'file' } = {},
): Promise<TestCluster> {
  const tmp = tempDir('testbed-cluster-');
  const started: { stop(): Promise<void> }[] = [];
  try {
    const [influxd, redis, postgres] = await Promise.all([
      startInfluxd(),
      startRedis(),
      options.registry === 'file' ? Promise.resolve(undefined) : startPostgres(),
    ]);
    started.push(influxd, redis);
    if (postgres) started.push(postgres);
    const registryEnv: Record<string, string> = postgres
      ? { TESTBED_DATABASE_URL: await postgres.createDatabase() }
      : // One registry for every node: a SQLite file on this machine, which processes share (WAL).
        { TESTBED_REGISTRY_FILE: path.join(tmp.dir, 'registry.db') };
    const ports = await freePorts(count * 2);
    const layout = Array.from({ length: count }, (_, i) => ({ name: `node-${i + 1}`, mqttPort: ports[2 * i]!, httpPort: ports[2 * i + 1]! }));
    // HAProxy first: its address is what devices are told, and it finds the nodes as they come up.
    const proxy = await startHaproxyFor(layout);
    started.push(proxy);
    const db = 'cluster';
    const nodes = layout.map((n) => {
      const node = childPipeline({
        TESTBED_NODE_ID: n.name,
        TESTBED_DATA_DIR: path.join(tmp.dir, n.name),
        TESTBED_HOST: '127.0.0.1',
        TESTBED_MQTT_PORT: String(n.mqttPort),
        TESTBED_HTTP_PORT: String(n.httpPort),
        TESTBED_PUBLIC_MQTT_URL: proxy.mqttUrl,
        TESTBED_ADMIN_TOKEN: CLUSTER_ADMIN,
        TESTBED_INFLUX_URL: influxd.url,
        TESTBED_INFLUX_BUCKET: db,
        ...registryEnv,
        TESTBED_REDIS_URL: redis.url,
        TESTBED_TRUSTED_PROXIES: '127.0.0.1',
        TESTBED_RETRY_MAX_SECONDS: '1',
        TESTBED_DISK_MIN_FREE_MB: '0',
        // Every device reaches a node from HAProxy's address: the per-address limits count all of them.
        TESTBED_MQTT_MAX_CONNECTIONS_PER_IP: '10000',
        TESTBED_MQTT_CONNECTS_PER_SECOND_PER_IP: '10000',
        TESTBED_HTTP_MAX_CONNECTIONS_PER_IP: '10000',
        ...extraEnv,
      });
      return { id: n.name, process: node, apiUrl: `http://127.0.0.1:${n.httpPort}`, mqttUrl: `mqtt://127.0.0.1:${n.mqttPort}` };
    });
    started.push({ stop: async () => void (await Promise.all(nodes.map((n) => n.process.kill('SIGKILL')))) });
    // One at a time: the first applies the registry's migrations, the others find them done.
    for (const node of nodes) await node.process.start();
    await allUp(proxy);
    return {
      nodes,
      proxy,
      influxd,
      redis,
      postgres,
      db,
      async close() {
        for (const s of started.splice(0).reverse()) await s.stop();
        tmp.remove();
      },
    };
  } catch (err) {
    for (const s of started.splice(0).reverse()) await s.stop();
    tmp.remove();
    throw err;
  }
}

/** An API call with a key; the answer's status and JSON body. */
export async function call(base: string, method: string, path: string, key: string | undefined, body?: unknown) {
  const headers: Record<string, string> = {};
  if (key) headers.authorization = `Bearer ${key}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

/** Resolves once HAProxy's checks find every node UP, on both frontends. */
export async function allUp(proxy: Haproxy): Promise<void> {
  await eventually(async () => (Object.values(await proxy.servers()).every((s) => s.status === 'UP') ? true : undefined), 10_000, 'every node UP in HAProxy');
}

/** A company with a key, a pilot and `count` devices, made through `base` (HAProxy or a node). */
export async function provision(base: string, name: string, count: number, profile = 'noise') {
  const company = await call(base, 'POST', '/v1/companies', CLUSTER_ADMIN, { name });
  const key = await call(base, 'POST', `/v1/companies/${company.body.id}/keys`, CLUSTER_ADMIN, {});
  const pilot = await call(base, 'POST', '/v1/pilots', CLUSTER_ADMIN, { companyId: company.body.id, testbedId: 'helsinki', name: `${name} pilot` });
  const devices: { id: string; username: string; password: string; mqttUrl: string }[] = [];
  for (let i = 0; i < count; i++) {
    const d = await call(base, 'POST', `/v1/pilots/${pilot.body.id}/devices`, key.body.key as string, { profile });
    if (d.status !== 201) throw new Error(`device ${i} not registered: ${d.status} ${JSON.stringify(d.body)}`);
    devices.push({ id: d.body.id, username: d.body.mqtt.username, password: d.body.mqtt.password, mqttUrl: d.body.mqtt.url });
  }
  return { companyId: company.body.id as string, key: key.body.key as string, pilotId: pilot.body.id as string, devices };
}

/** A pilot's live stream (SSE) at `base`, read as it comes: `text()` is everything so far; `close()` ends it. */
export async function openLiveStream(base: string, pilotId: string, key: string): Promise<{ status: number; text(): string; close(): Promise<void> }> {
  const res = await fetch(`${base}/v1/pilots/${pilotId}/live`, { headers: { authorization: `Bearer ${key}`, accept: 'text/event-stream' } });
  let text = '';
  const reader = res.body!.getReader();
  void (async () => {
    for (;;) {
      const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
      if (done) break;
      text += new TextDecoder().decode(value);
    }
  })();
  return { status: res.status, text: () => text, close: () => reader.cancel() };
}
