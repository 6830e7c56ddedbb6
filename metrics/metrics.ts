import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Every metric the testbed exposes, in one prom-client registry (not the
 * global one, so two pipelines in one process do not share counters). Labels
 * are bounded: QoS, result, error code, route pattern, status, testbed; never
 * a device id.
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  // Counted per message as plain numbers and added to their counters when scraped (see `collect`):
  // a prom-client increment hashes its labels and allocates, for every message.
  const ingestCounts = { messages: [0, 0], readings: 0 };
  return {
    registry,
    ingestCounts,
    gatewayConnects: new Counter({
      name: 'testbed_gateway_connects_total',
      help: 'MQTT CONNECTs whose credentials were checked, by result (accepted, refused)',
      labelNames: ['result'],
      registers,
    }),
    ingestMessages: new Counter({
      name: 'testbed_ingest_messages_total',
      help: 'MQTT messages taken by ingest, by QoS',
      labelNames: ['qos'],
      registers,
      collect() {
        const { messages } = ingestCounts;
        for (let qos = 0; qos < messages.length; qos++) {
          if (messages[qos]! > 0) this.labels(String(qos)).inc(messages[qos]);
          messages[qos] = 0;
        }
      },
    }),
    ingestReadings: new Counter({
      name: 'testbed_ingest_readings_total',
      help: 'Readings accepted by the ingest pipeline',
      registers,
      collect() {
        if (ingestCounts.readings > 0) this.inc(ingestCounts.readings);
        ingestCounts.readings = 0;
      },
    }),
    ingestRejections: new Counter({
      name: 'testbed_ingest_rejections_total',
      help: 'Messages or readings rejected by the ingest pipeline, by TESTBED_* code',
      labelNames: ['code'],
      registers,
    }),
    storeWrites: new Counter({
      name: 'testbed_store_writes_total',
      help: 'Batch writes to the reading store, by result (ok, error)',
      labelNames: ['result'],
      registers,
    }),
    storeWriteSeconds: new Histogram({
      name: 'testbed_store_write_duration_seconds',
      help: 'Time a batch write to the reading store took',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    httpRequests: new Counter({
      name: 'testbed_http_requests_total',
      help: 'HTTP API requests answered, by route pattern and status',
      labelNames: ['route', 'status'],
      registers,
    }),
    httpSeconds: new Histogram({
      name: 'testbed_http_request_duration_seconds',
      help: 'Time the HTTP API took to answer, by route pattern',
      labelNames: ['route'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
