import { Counter, Gauge } from 'prom-client';
import type { IngestStats } from '../ingest/index.js';
import type { Metrics } from './metrics.js';

/** What the collected metrics read at each scrape: the running stages' own state. */
export interface CollectSources {
  /** MQTT connections open now. */
  readonly connections: () => number;
  readonly ingestStats: () => IngestStats;
  /** Each registered, unrevoked device's testbed and whether it is connected now. */
  readonly devices: () => Iterable<{ readonly testbedId: string; readonly online: boolean }>;
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
    help: 'Registered devices by testbed and status (online, offline)',
    labelNames: ['testbed', 'status'],
    registers,
    collect() {
      this.reset();
      const counts = new Map<string, { online: number; offline: number }>();
      for (const d of sources.devices()) {
        const c = counts.get(d.testbedId) ?? { online: 0, offline: 0 };
        c[d.online ? 'online' : 'offline']++;
        counts.set(d.testbedId, c);
      }
      for (const [testbed, c] of counts) {
        this.set({ testbed, status: 'online' }, c.online);
        this.set({ testbed, status: 'offline' }, c.offline);
      }
    },
  });
}
