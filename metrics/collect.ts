import { Counter, Gauge } from 'prom-client';
import type { IngestStats } from '../ingest/index.js';
import type { Metrics } from './metrics.js';

/** What the collected metrics read at each scrape: the running stages' own state. */
export interface CollectSources {
  /** MQTT connections open now. */
  readonly connections: () => number;
  readonly ingestStats: () => IngestStats;
  /** Per testbed, its unrevoked devices by health status (never, ok, late, silent). */
  readonly devices: () => Promise<Iterable<{ readonly testbedId: string; readonly byStatus: Readonly<Record<string, number>> }>>;
  /** The alerts open now (kept in the registry, so the count survives a restart). */
  readonly openAlerts: () => Promise<Iterable<{ readonly testbedId: string }>>;
}

/**
 * Metrics read at scrape time from state the stages already keep (collect
 * callbacks), rather than counted again inside them.
 */
export function collectFrom(m: Metrics, sources: CollectSources): void {
  const registers = [m.registry];
  new Gauge({
    name: 'testbed_gateway_connections',
    help: 'MQTT connections open now',
    registers,
    collect() {
      this.set(sources.connections());
    },
  });
  new Counter({
    name: 'testbed_ingest_duplicates_total',
    help: 'QoS 1 messages recognised as resends of one already taken (acknowledged, not stored again)',
    registers,
    collect() {
      this.reset();
      this.inc(sources.ingestStats().duplicates);
    },
  });
  new Gauge({
    name: 'testbed_queue_depth_bytes',
    help: 'Bytes in the durable queue not yet delivered to the store',
    registers,
    collect() {
      this.set(sources.ingestStats().queue.depthBytes);
    },
  });
  new Gauge({
    name: 'testbed_queue_oldest_age_seconds',
    help: 'Age of the oldest undelivered entry in the durable queue (0 when empty)',
    registers,
    collect() {
      this.set((sources.ingestStats().queue.oldestAgeMs ?? 0) / 1000);
    },
  });
  new Gauge({
    name: 'testbed_devices',
    help: 'Registered devices by testbed and health status (never, ok, late, silent)',
    labelNames: ['testbed', 'status'],
    registers,
    async collect() {
      const devices = await sources.devices();
      this.reset();
      for (const { testbedId, byStatus } of devices) {
        for (const [status, n] of Object.entries(byStatus)) this.set({ testbed: testbedId, status }, n);
      }
    },
  });
  new Gauge({
    name: 'testbed_alerts_open',
    help: 'Alerts open now, by testbed',
    labelNames: ['testbed'],
    registers,
    async collect() {
      const [devices, open] = await Promise.all([sources.devices(), sources.openAlerts()]);
      this.reset();
      // Every testbed has a sample, 0 when nothing is open, so a resolved alert reads as 0 rather than as no data.
      const counts = new Map<string, number>([...devices].map((t) => [t.testbedId, 0]));
      for (const a of open) counts.set(a.testbedId, (counts.get(a.testbedId) ?? 0) + 1);
      for (const [testbed, n] of counts) this.set({ testbed }, n);
    },
  });
}
