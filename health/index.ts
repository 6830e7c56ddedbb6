/**
 * The health stage: device health judged against each profile's contract,
 * kept in the registry, and alert rules evaluated over it. It listens to the
 * event bus (connections) and to ingest's delivered batches, evaluates on a
 * timer, and publishes `device.status` and `alert.*` events.
 */
import type { Config, EventBus, Logger } from '../core/index.js';
import type { HealthLedger } from '../registry/index.js';
import type { Ingest } from '../ingest/index.js';
import type { ProfileCatalogue } from '../device-profiles/index.js';
import { AlertEngine, type GatewayState } from './alerts.js';
import { RejectionCounter } from './rejections.js';
import { HealthTracker } from './tracker.js';

export type { GatewayState } from './alerts.js';
export { contractOf, type Contract } from './contract.js';

export interface HealthDeps {
  readonly ledger: HealthLedger;
  readonly profiles: ProfileCatalogue;
  readonly events: EventBus;
  readonly ingest: Pick<Ingest, 'onDelivered' | 'stats'>;
  readonly gateway: { connectedDevices(): number };
  readonly log: Logger;
}

export interface Health {
  /** A device's rejected messages of the last hour, by code. */
  rejectionsLastHour(deviceId: string): Record<string, number>;
  gatewayState(): GatewayState;
  openAlerts(): number;
  /** Writes pending health and evaluates statuses and rules now (tests, and each timer tick). */
  evaluate(): void;
  stop(): Promise<void>;
}

export function start(config: Config, deps: HealthDeps): Health {
  const log = deps.log.child({ stage: 'health' });
  const rejections = new RejectionCounter();
  let unreachableSince: number | null = null;
  const gatewayState = (): GatewayState => {
    const stats = deps.ingest.stats();
    return {
      connections: deps.gateway.connectedDevices(),
      queue: { depthBytes: stats.queue.depthBytes, oldestAgeMs: stats.queue.oldestAgeMs },
      store: { reachable: stats.store.reachable, unreachableSince },
    };
  };
  deps.ledger.resetOnline();
  const tracker = new HealthTracker(deps.ledger, deps.profiles, deps.events, rejections);
  const alerts = new AlertEngine(deps.ledger, deps.events, rejections, gatewayState, log);
  deps.ingest.onDelivered((readings, rejected) => tracker.delivered(readings, rejected));
  const off = deps.events.on((event) => tracker.onEvent(event));

  const evaluate = () => {
    const now = Date.now();
    const reachable = deps.ingest.stats().store.reachable;
    unreachableSince = reachable ? null : (unreachableSince ?? now);
    tracker.evaluate(now);
    alerts.evaluate(now);
  };
  const tick = () => {
    try {
      evaluate();
    } catch (err) {
      log.error({ err }, 'health evaluation failed; trying again at the next tick');
    }
  };
  const timer = setInterval(tick, config.health.evaluateMs).unref();

  return {
    rejectionsLastHour: (deviceId) => rejections.lastHour(deviceId, Date.now()),
    gatewayState,
    openAlerts: () => alerts.openCount,
    evaluate,
    async stop() {
      clearInterval(timer);
      off();
      tracker.flush();
    },
  };
}
