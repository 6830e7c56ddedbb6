import { pino } from 'pino';
import { buildApp, type ApiDeps } from '../../api/app.js';
import type { ApiInstance, DeviceSessions } from '../../api/deps.js';
import { LiveFeed } from '../../ingest/live.js';
import { Lifecycle } from '../../lifecycle/index.js';
import type { Registry } from '../../registry/registry.js';
import { EmbeddedStore } from '../../store/embedded/store.js';
import { loadProfiles } from '../../device-profiles/load.js';
import { defaultRegistryDatabase, registryHost } from './registries.js';
import { tempDir } from './tmp.js';

export const ADMIN = 'api-test-admin-token-0123456789';
export const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
/** The broker address the test API tells devices (no broker listens there: the API only reports it). */
export const MQTT_URL = 'mqtt://gateway.test:1883';

/**
 * A stand-in for the gateway's sessions (a component this suite does not
 * start): a plain record of which devices are online, when they were seen,
 * and which the API asked to disconnect.
 */
export function recordingSessions() {
  const online = new Set<string>();
  const seen = new Map<string, number>();
  const disconnected: string[] = [];
  const sessions: DeviceSessions & { online: Set<string>; seen: Map<string, number>; disconnected: string[] } = {
    online,
    seen,
    disconnected,
    disconnect(deviceId) {
      disconnected.push(deviceId);
      online.delete(deviceId);
    },
    isOnline: (deviceId) => online.has(deviceId),
    lastSeen: (deviceId) => seen.get(deviceId),
    connectedDevices: () => online.size,
  };
  return sessions;
}

export interface TestApi {
  readonly app: ApiInstance;
  readonly registry: Registry;
  readonly store: EmbeddedStore;
  readonly live: LiveFeed;
  readonly sessions: ReturnType<typeof recordingSessions>;
  /** The lifecycle stage (exports, erasure), with no retention timer: tests sweep by hand. */
  readonly lifecycle: Lifecycle;
  /** The data folder. */
  readonly dir: string;
  close(): Promise<void>;
}

/**
 * The API over a real registry and embedded store in a temporary folder, with a real LiveFeed.
 * The registry is on `database`: by default SQLite, or what TESTBED_TEST_REGISTRY names (`postgres`).
 */
export async function openTestApi(extra: Partial<ApiDeps> = {}, registryNow?: () => number, database = defaultRegistryDatabase()): Promise<TestApi> {
  const tmp = tempDir('testbed-api-');
  const host = registryHost(database);
  const registry = await host.open(tmp.dir, ADMIN, registryNow ? { now: registryNow } : {});
  const store = await EmbeddedStore.open(tmp.dir);
  const live = new LiveFeed();
  const sessions = recordingSessions();
  const log = pino({ level: process.env.TESTBED_TEST_LOG ?? 'silent' });
  const profiles = loadProfiles();
  const lifecycle = await Lifecycle.start({
    registry,
    ledger: registry.lifecycle,
    readings: extra.readings ?? store,
    rejections: store,
    profiles,
    log,
    dataDir: tmp.dir,
    sessions,
    retentionEveryMs: 0,
  });
  const app = await buildApp({
    registry,
    mqttUrl: MQTT_URL,
    readings: store,
    rejections: store,
    profiles,
    log,
    live,
    sessions,
    lifecycle,
    rateLimit: { perSecond: 1e6, burst: 1e6 },
    companyRateLimit: { perSecond: 1e6, burst: 1e6 },
    anonymousRateLimit: { perSecond: 1e6, burst: 1e6 },
    ...extra,
  });
  return {
    app,
    registry,
    store,
    live,
    sessions,
    lifecycle,
    dir: tmp.dir,
    async close() {
      lifecycle.stop();
      await lifecycle.settled();
      await app.close();
      await store.close();
      await registry.close();
      await host.close();
      tmp.remove();
    },
  };
}
