/**
 * Prometheus metrics: one registry of counters, histograms and gauges, filled
 * by decorators around the stages' interfaces and by collect callbacks over
 * their state, served as `GET /metrics`.
 */
export { createMetrics, type Metrics } from './metrics.js';
export { measuredAuthenticator, measuredIngest, measuredStore, observeRequest } from './decorators.js';
export { collectFrom, type CollectSources } from './collect.js';
export { serveMetrics } from './server.js';
