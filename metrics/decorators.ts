import type { DeviceAuthenticator } from '../gateway/index.js';
import type { Ingest } from '../ingest/index.js';
import type { ReadingStore } from '../store/index.js';
import type { Metrics } from './metrics.js';

/*
 * Metrics as decorators: each wraps the interface a stage is wired through and
 * counts what passes, so no stage's logic knows it is measured.
 */

/** The reading store ingest writes to, with each batch write counted and timed. */
export function measuredStore(store: ReadingStore, m: Metrics): ReadingStore {
  return {
    kind: store.kind,
    async write(readings, encoded) {
      const end = m.storeWriteSeconds.startTimer();
      try {
        const result = await store.write(readings, encoded);
        m.storeWrites.inc({ result: 'ok' });
        return result;
      } catch (err) {
        m.storeWrites.inc({ result: 'error' });
        throw err;
      } finally {
        end();
      }
    },
    queryRaw: (scope, query) => store.queryRaw(scope, query),
    queryAggregate: (scope, query) => store.queryAggregate(scope, query),
    queryLatest: (scope, query) => store.queryLatest(scope, query),
    countReadings: (scope, slice) => store.countReadings(scope, slice),
    deleteReadings: (scope, slice) => store.deleteReadings(scope, slice),
    checkErased: (pilotId) => store.checkErased(pilotId),
    ping: () => store.ping(),
    close: () => store.close(),
  };
}

/** The ingest stage as the gateway hands it messages, with messages, readings and rejections counted. */
export function measuredIngest<T extends Pick<Ingest, 'accept' | 'forget' | 'onRefused' | 'refusing'>>(
  ingest: T,
  m: Metrics,
): Pick<Ingest, 'accept' | 'forget' | 'onRefused' | 'refusing'> {
  const counts = m.ingestCounts;
  return {
    refusing: () => ingest.refusing(),
    accept(ctx, message, done) {
      const outcome = ingest.accept(ctx, message, done);
      // Plain numbers, added to the counters when scraped (see createMetrics).
      if (message.qos === 0 || message.qos === 1) counts.messages[message.qos]!++;
      else m.ingestMessages.labels(String(message.qos)).inc();
      counts.readings += outcome.readings.length;
      for (const rejection of outcome.rejections) m.ingestRejections.inc({ code: rejection.code });
      return outcome;
    },
    forget: (deviceId) => ingest.forget(deviceId),
    onRefused: (listener) => ingest.onRefused(listener),
  };
}

/** The gateway's credential check, with each CONNECT's result counted. */
export function measuredAuthenticator(devices: DeviceAuthenticator, m: Metrics): DeviceAuthenticator {
  return {
    async authenticateDevice(username, password, waitMs) {
      const ctx = await devices.authenticateDevice(username, password, waitMs);
      m.gatewayConnects.inc({ result: ctx ? 'accepted' : 'refused' });
      return ctx;
    },
  };
}

/** For the API's onResponse hook: one request answered. */
export function observeRequest(m: Metrics) {
  return (route: string, status: number, seconds: number) => {
    m.httpRequests.inc({ route, status: String(status) });
    m.httpSeconds.observe({ route }, seconds);
  };
}
