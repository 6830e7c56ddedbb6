import { start as startApi } from '../api/index.js';
import type { Config, Logger } from '../core/index.js';
import { start as startIngest, type Ingest } from '../ingest/index.js';
import { resolveAdminToken, type AdminToken, Registry } from '../registry/index.js';
import { openStores, type Stores } from '../store/index.js';
import { loadProfiles, type ProfileCatalogue } from '../device-profiles/index.js';
import { start as startGateway, type Gateway } from '../gateway/index.js';

export interface RunningPipeline {
  readonly config: Config;
  readonly profiles: ProfileCatalogue;
  readonly registry: Registry;
  readonly stores: Stores;
  readonly ingest: Ingest;
  readonly gateway: Gateway;
  readonly admin: AdminToken;
  readonly mqttUrl: string;
  readonly apiUrl: string;
  /** Stops accepting, writes what is queued, and closes everything, in reverse order of start. */
  stop(): Promise<void>;
}

/**
 * The composition root: opens the registry and stores, then starts ingest, the
 * gateway and the API, wiring each stage to the others through its `deps`.
 */
export async function startPipeline(config: Config, log: Logger): Promise<RunningPipeline> {
  const stops: { name: string; stop: () => Promise<void> | void }[] = [];
  const stopAll = async () => {
    for (const { name, stop } of stops.splice(0).reverse()) {
      log.debug({ stage: name }, 'stopping');
      await stop();
    }
  };
  try {
    const profiles = loadProfiles(config.profilesDir);
    const admin = resolveAdminToken(config.dataDir, config.adminToken);
    const registry = Registry.open(config.dataDir, admin.token);
    stops.push({ name: 'registry', stop: () => registry.close() });
    const stores = await openStores(config, log);
    stops.push({ name: 'store', stop: () => stores.close() });
    const ingest = await startIngest(config, {
      profiles,
      store: stores.readings,
      rejections: stores.rejections,
      log,
    });
    stops.push({ name: 'ingest', stop: () => ingest.stop() });
    const gateway = await startGateway(config, { devices: registry, ingest, log });
    stops.push({ name: 'gateway', stop: () => gateway.stop() });
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    const mqttUrl = `mqtt://${host}:${gateway.port}`;
    const api = await startApi(config, {
      registry,
      mqttUrl: config.mqtt.publicUrl ?? mqttUrl,
      readings: stores.readings,
      rejections: stores.rejections,
      profiles,
      log,
      live: ingest.live,
      sessions: gateway,
      ingest,
    });
    // Stop order: no new messages first, then deliver the queue, then the API and the stores.
    stops.splice(
      stops.findIndex((s) => s.name === 'ingest'),
      0,
      { name: 'api', stop: () => api.stop() },
    );
    log.info({ mqtt: mqttUrl, url: api.url, store: stores.readings.kind }, 'pipeline started');
    return { config, profiles, registry, stores, ingest, gateway, admin, mqttUrl, apiUrl: api.url, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
