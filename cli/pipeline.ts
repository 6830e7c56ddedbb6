import { setTimeout as sleep } from 'node:timers/promises';
import { bundledConsoleDir, start as startApi } from '../api/index.js';
import { type ClusterView, type Config, EventBus, isoTime, localClusterView, type Logger, TlsCredentials, WebhookUrlPolicy } from '../core/index.js';
import { start as startIngest, type Ingest } from '../ingest/index.js';
import { resolveAdminToken, type AdminToken, Registry } from '../registry/index.js';
import { openStores, type Stores } from '../store/index.js';
import { loadProfiles, type ProfileCatalogue } from '../device-profiles/index.js';
import { start as startHealth, type Health } from '../health/index.js';
import { start as startGateway, mqttOverWebSocket, MQTT_WS_PATH, type Gateway } from '../gateway/index.js';
import { startWebhookDispatcher } from '../webhooks/index.js';
import { Lifecycle } from '../lifecycle/index.js';
import * as metrics from '../metrics/index.js';
import { configChannel } from './device-config.js';
import { deviceTraces } from './device-traces.js';

export interface RunningPipeline {
  readonly config: Config;
  readonly profiles: ProfileCatalogue;
  readonly registry: Registry;
  readonly stores: Stores;
  readonly ingest: Ingest;
  readonly gateway: Gateway;
  /** The one event bus: connections, status changes, alerts, commands. */
  readonly events: EventBus;
  readonly health: Health;
  readonly admin: AdminToken;
  /** The first device listener: plain TCP, else TLS. */
  readonly mqttUrl: string;
  /** MQTT over TLS, when configured. */
  readonly mqttsUrl: string | undefined;
  /** MQTT over WebSocket on the API's port (`wss:` when the API has HTTPS). */
  readonly wsUrl: string;
  readonly apiUrl: string;
  /** `GET /metrics` without a key, when TESTBED_METRICS_PORT is set. */
  readonly metricsUrl: string | undefined;
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
    const events = new EventBus((err, event) => log.error({ err, event: event.type }, 'an event listener failed'));
    const admin = resolveAdminToken(config.dataDir, config.adminToken);
    const registry = await Registry.open(config.dataDir, admin.token, {
      maxLiveKeys: config.limits.keys.maxLive,
      file: config.registryFile,
      databaseUrl: config.databaseUrl,
      // The pool replaces a connection that broke while idle; requests meanwhile answer 503 TESTBED_REGISTRY_UNAVAILABLE.
      onConnectionError: (err) => log.warn({ code: 'TESTBED_REGISTRY_UNAVAILABLE', reason: err.message }, 'a connection to the registry database broke'),
    });
    stops.push({ name: 'registry', stop: () => registry.close() });
    const webhookUrls = new WebhookUrlPolicy(config.webhooks.allowedHosts);
    const webhooks = startWebhookDispatcher({
      bus: events,
      outbox: registry.webhookOutbox,
      policy: webhookUrls,
      log,
      retryDelaysMs: config.webhooks.retryDelaysMs,
    });
    stops.push({ name: 'webhooks', stop: () => webhooks.stop() });
    const measured = metrics.createMetrics();
    const tls = config.tls ? watchTls(new TlsCredentials(config.tls), log) : undefined;
    if (tls) stops.push({ name: 'tls', stop: tls.stop });
    const stores = await openStores(config, log);
    const lastReadings = await registry.lastReadingTimes();
    stops.push({ name: 'store', stop: () => stores.close() });
    // Several nodes share Redis only when it is configured; otherwise nothing of it is even loaded.
    const node = config.redisUrl === undefined ? undefined : (await import('./cluster.js')).openClusterNode(config, log);
    if (node) stops.push({ name: 'cluster', stop: () => node.stop() });
    const ingest = await startIngest(config, {
      profiles,
      store: metrics.measuredStore(stores.readings, measured),
      rejections: stores.rejections,
      log,
      // Read once at start: the first reading of each device after a restart is compared with it, without a query on its path.
      lastReadingAt: (deviceId) => lastReadings.get(deviceId),
      resends: node?.resends,
    });
    stops.push({ name: 'ingest', stop: () => ingest.stop() });
    const gateway = await startGateway(config, {
      devices: metrics.measuredAuthenticator(registry, measured),
      ingest: metrics.measuredIngest(ingest, measured),
      log,
      tls: tls?.credentials,
      commands: registry,
      configuration: configChannel(registry, profiles, events),
      events,
      broker: node?.broker,
    });
    stops.push({ name: 'gateway', stop: () => gateway.stop() });
    const sessions = node ? await node.attach({ gateway, ingest, events }) : gateway;
    const health = await startHealth(config, { ledger: registry, profiles, events, ingest, gateway, log });
    // Stopped just before the registry closes: the last batches and disconnects are recorded first.
    stops.splice(stops.findIndex((s) => s.name === 'registry') + 1, 0, { name: 'health', stop: () => health.stop() });
    metrics.collectFrom(measured, {
      connections: () => gateway.connectedDevices(),
      ingestStats: () => ingest.stats(),
      devices: async () => {
        const counts = [];
        for (const t of await registry.listTestbeds()) counts.push({ testbedId: t.id, byStatus: (await registry.fleetCounts({ kind: 'all' }, t.id)).byStatus });
        return counts;
      },
      openAlerts: () => registry.openAlerts(),
    });
    const lifecycle = await Lifecycle.start({
      registry,
      ledger: registry.lifecycle,
      readings: stores.readings,
      rejections: stores.rejections,
      profiles,
      log: log.child({ stage: 'lifecycle' }),
      dataDir: config.dataDir,
      sessions,
      queueSettled: (since) => queueSettled(ingest, since),
      traces: deviceTraces(ingest, gateway, health),
    });
    stops.push({ name: 'lifecycle', stop: () => lifecycle.stop() });
    // The process's own start, so a restarted node shows a new one (performance.timeOrigin is when it began).
    const self = { id: config.nodeId, startedAt: isoTime(performance.timeOrigin) };
    const registryKind = registry.dialect;
    const cluster: ClusterView = node
      ? {
          node: self,
          state: () =>
            Promise.resolve({
              nodes: [
                { ...self, connections: gateway.connectedDevices() },
                ...node
                  .nodes()
                  .filter((n) => n.nodeId !== config.nodeId)
                  .map((n) => ({ id: n.nodeId, connections: n.connections })),
              ],
              coordination: 'redis' as const,
              registry: registryKind,
            }),
        }
      : localClusterView(self, registryKind);
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    const mqttsUrl = gateway.tlsPort === undefined ? undefined : `mqtts://${host}:${gateway.tlsPort}`;
    const ownMqttUrl = gateway.port === undefined ? mqttsUrl : `mqtt://${host}:${gateway.port}`;
    const api = await startApi(
      config,
      {
        registry,
        // Devices are told where to connect: the configured public address, else this gateway's own listener.
        mqttUrl: config.mqtt.publicUrl ?? ownMqttUrl ?? `ws://${host}:${config.http.port}${MQTT_WS_PATH}`,
        readings: stores.readings,
        rejections: stores.rejections,
        profiles,
        log,
        live: ingest.live,
        sessions,
        rateBuckets: node?.rateBuckets,
        ingest,
        health,
        events,
        lifecycle,
        webhookUrls,
        metrics: measured.registry,
        observeRequest: metrics.observeRequest(measured),
        consoleDir: bundledConsoleDir(),
        consoleTileUrl: config.consoleTileUrl,
        cluster,
      },
      tls?.credentials,
    );
    const ws = mqttOverWebSocket(gateway, config, log);
    api.server.on('upgrade', ws.onUpgrade);
    // Stop order: no new messages first, then deliver the queue, then the API and the stores.
    stops.splice(
      stops.findIndex((s) => s.name === 'ingest'),
      0,
      { name: 'api', stop: () => api.stop() },
      { name: 'websocket', stop: () => ws.close() },
    );
    const metricsServer = config.metricsPort === undefined ? undefined : await metrics.serveMetrics(measured.registry, config.host, config.metricsPort);
    if (metricsServer) stops.push({ name: 'metrics server', stop: () => metricsServer.stop() });
    const metricsUrl = metricsServer && `http://${host}:${metricsServer.port}/metrics`;
    const wsUrl = `${api.url.replace(/^http/, 'ws')}${MQTT_WS_PATH}`;
    const mqttUrl = gateway.port === undefined ? (mqttsUrl ?? wsUrl) : `mqtt://${host}:${gateway.port}`;
    log.info(
      { node: config.nodeId, mqtt: mqttUrl, mqtts: mqttsUrl, ws: wsUrl, url: api.url, metrics: metricsUrl, store: stores.readings.kind },
      'pipeline started',
    );
    return { config, profiles, registry, stores, ingest, gateway, events, health, admin, mqttUrl, mqttsUrl, wsUrl, apiUrl: api.url, metricsUrl, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/**
 * Reloads the certificate when its files change and on SIGHUP; servers take
 * it for new handshakes, open connections keep theirs.
 */
function watchTls(credentials: TlsCredentials, log: Logger) {
  const report = (result: ReturnType<TlsCredentials['reload']>) =>
    result.ok ? log.info('TLS certificate reloaded') : log.error({ err: result.error.message }, 'TLS certificate not reloaded; the previous one stays in use');
  credentials.watch(report);
  const onHangup = () => report(credentials.reload());
  process.on('SIGHUP', onHangup);
  return {
    credentials,
    stop: () => {
      process.off('SIGHUP', onHangup);
      credentials.close();
    },
  };
}

/** Resolves once nothing accepted before `since` waits in the queue on disk: its oldest entry is younger, or there is none. */
async function queueSettled(ingest: Ingest, since: number): Promise<void> {
  for (;;) {
    const { oldestAgeMs } = ingest.health().queue;
    if (oldestAgeMs === null || Date.now() - oldestAgeMs > since) return;
    // Unreferenced: a wait of an erasure under way never holds the process open at shutdown (it resumes at the next start).
    await sleep(200, undefined, { ref: false });
  }
}
