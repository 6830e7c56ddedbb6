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
  /** Forgets what is kept in memory about erased devices: health not yet written, rejection counts, reported intervals, open alerts. */
  forgetDevices(deviceIds: readonly string[]): void;
  /** Writes pending health and evaluates statuses and rules now (tests, and each timer tick). */
  evaluate(): Promise<void>;
  stop(): Promise<void>;
}

/** The least time between two evaluations that events (rather than the timer) asked for. */
const SOON_MS = 250;
/** How long an event's evaluation waits, gathering what comes with it (a burst of readings, a reconnect). */
const GATHER_MS = 50;

export async function start(config: Config, deps: HealthDeps): Promise<Health> {
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
  await deps.ledger.resetOnline();
  const failed = (err: unknown) => log.error({ code: 'TESTBED_REGISTRY_UNAVAILABLE', err }, 'health not recorded in the registry');
  const tracker = new HealthTracker(deps.ledger, deps.profiles, deps.events, rejections, await deps.ledger.reportedIntervals(), failed);
  const alerts = new AlertEngine(deps.ledger, deps.events, rejections, gatewayState, log, await deps.ledger.openAlerts());
  // Evaluated on what happens as well as on the timer, so an alert opens (or
  // resolves) promptly: a reading, a rejection, a connection or disconnection asks
  // for an evaluation soon. Requests coalesce, and evaluations so triggered are
  // at least SOON_MS apart, so a busy gateway does not evaluate per message.
  let soon: NodeJS.Timeout | undefined;
  let lastAt = 0;
  let stopped = false;
  const evaluateSoon = () => {
    if (soon || stopped) return;
    soon = setTimeout(
      () => {
        soon = undefined;
        tick();
      },
      Math.max(GATHER_MS, lastAt + SOON_MS - Date.now()),
    ).unref();
  };
  deps.ingest.onDelivered((readings, rejected) => {
    tracker.delivered(readings, rejected);
    evaluateSoon();
  });
  const off = deps.events.on((event) => {
    tracker.onEvent(event);
    if (event.type === 'device.connected' || event.type === 'device.disconnected') evaluateSoon();
  });

  // One evaluation at a time: a tick that comes while one runs waits for it.
  let running: Promise<void> = Promise.resolve();
  const evaluate = (): Promise<void> => {
    running = running
      .catch(() => undefined)
      .then(async () => {
        const now = Date.now();
        lastAt = now;
        const reachable = deps.ingest.stats().store.reachable;
        unreachableSince = reachable ? null : (unreachableSince ?? now);
        await tracker.evaluate(now);
        await alerts.evaluate(now);
      });
    return running;
  };
  const tick = () => {
    evaluate().catch((err: unknown) => log.error({ err }, 'health evaluation failed; trying again at the next tick'));
  };
  const timer = setInterval(tick, config.health.evaluateMs).unref();

  return {
    rejectionsLastHour: (deviceId) => rejections.lastHour(deviceId, Date.now()),
    gatewayState,
    openAlerts: () => alerts.openCount,
    forgetDevices(deviceIds) {
      for (const deviceId of deviceIds) {
        tracker.forget(deviceId);
        rejections.forget(deviceId);
        alerts.forget(deviceId);
      }
    },
    evaluate,
    async stop() {
      stopped = true;
      clearInterval(timer);
      clearTimeout(soon);
      off();
      await running.catch(() => undefined);
      await tracker.flush();
    },
  };
}
