import type { Alert, AlertRule, EventBus, Logger, Scope } from '../core/index.js';
import type { FleetFilter, FleetRow, HealthLedger } from '../registry/index.js';
import type { RejectionCounter } from './rejections.js';

/** The gateway's own state, as gateway conditions and the testbed health view read it. */
export interface GatewayState {
  readonly connections: number;
  readonly queue: { readonly depthBytes: number; readonly oldestAgeMs: number | null };
  readonly store: { readonly reachable: boolean; readonly unreachableSince: number | null };
}

/** Where a rule's condition holds now: a device (device conditions) or the gateway (deviceId undefined). */
interface Hit {
  readonly deviceId?: string | undefined;
  readonly pilotId?: string | undefined;
  readonly message: string;
}

interface OpenEntry {
  readonly alert: Alert;
  readonly companyId: string | null;
  readonly devicePilotId: string | undefined;
  /** Since when the condition has been clear; the alert resolves once this is older than the rule's hold time. */
  clearSince: number | undefined;
}

const MAX_DEVICES = 100_000;
const keyOf = (ruleId: string, deviceId: string | undefined) => `${ruleId}|${deviceId ?? ''}`;

/**
 * Evaluates every alert rule against the health the registry keeps and the
 * gateway's state. An alert opens once when its condition starts to hold,
 * stays open while it holds, and resolves once when it has been clear for the
 * rule's hold time (so a flapping device does not open a storm of alerts).
 * Opening and resolving publish `alert.opened` / `alert.resolved` with
 * `data.alert`.
 */
export class AlertEngine {
  readonly #ledger: HealthLedger;
  readonly #events: EventBus;
  readonly #rejections: RejectionCounter;
  readonly #gateway: () => GatewayState;
  readonly #log: Logger;
  readonly #open = new Map<string, OpenEntry>();

  /** `open` is the ledger's `openAlerts()`, read at start. */
  constructor(
    ledger: HealthLedger,
    events: EventBus,
    rejections: RejectionCounter,
    gateway: () => GatewayState,
    log: Logger,
    open: readonly (Alert & { companyId: string | null })[],
  ) {
    this.#ledger = ledger;
    this.#events = events;
    this.#rejections = rejections;
    this.#gateway = gateway;
    this.#log = log;
    for (const alert of open) {
      const { companyId, ...rest } = alert;
      this.#open.set(keyOf(alert.ruleId, alert.deviceId), { alert: rest, companyId, devicePilotId: undefined, clearSince: undefined });
    }
  }

  /** Forgets a device's open alerts (its pilot was erased, and its alerts with it). */
  forget(deviceId: string): void {
    for (const key of this.#open.keys()) if (key.endsWith(`|${deviceId}`)) this.#open.delete(key);
  }

  get openCount(): number {
    return this.#open.size;
  }

  async evaluate(now: number): Promise<void> {
    const rules = await this.#ledger.allAlertRules();
    const holding = new Set<string>();
    for (const rule of rules) {
      for (const hit of await this.#hits(rule, now)) {
        const key = keyOf(rule.id, hit.deviceId);
        holding.add(key);
        const entry = this.#open.get(key);
        if (entry) entry.clearSince = undefined;
        else await this.#openAlert(rule, hit, now);
      }
    }
    const holdOf = new Map(rules.map((r) => [r.id, r.holdSeconds * 1000] as const));
    for (const [key, entry] of this.#open) {
      if (holding.has(key)) continue;
      const hold = holdOf.get(entry.alert.ruleId);
      entry.clearSince ??= now;
      // A deleted rule's alerts resolve at once.
      if (hold === undefined || now - entry.clearSince >= hold) await this.#resolve(key, entry, now);
    }
  }

  async #openAlert(rule: AlertRule, hit: Hit, now: number): Promise<void> {
    const alert = await this.#ledger.openAlert({ rule, deviceId: hit.deviceId, message: hit.message, at: now });
    this.#open.set(keyOf(rule.id, hit.deviceId), { alert, companyId: rule.companyId, devicePilotId: hit.pilotId, clearSince: undefined });
    this.#log.info({ alertId: alert.id, ruleId: rule.id, deviceId: hit.deviceId, condition: rule.condition }, 'alert opened');
    this.#publish('alert.opened', alert, rule.companyId, hit.pilotId, now);
  }

  async #resolve(key: string, entry: OpenEntry, now: number): Promise<void> {
    this.#open.delete(key);
    const alert = await this.#ledger.resolveAlert(entry.alert.id, now);
    if (!alert) return;
    this.#log.info({ alertId: alert.id, ruleId: alert.ruleId, deviceId: alert.deviceId }, 'alert resolved');
    this.#publish('alert.resolved', alert, entry.companyId, entry.devicePilotId, now);
  }

  /** `pilotId` is the pilot the alert concerns: the rule's, else the device's (live streams follow it). */
  #publish(type: 'alert.opened' | 'alert.resolved', alert: Alert, companyId: string | null, devicePilotId: string | undefined, at: number): void {
    this.#events.publish({
      type,
      at,
      testbedId: alert.testbedId,
      companyId: companyId ?? undefined,
      pilotId: alert.pilotId ?? devicePilotId,
      deviceId: alert.deviceId,
      data: { alert },
    });
  }

  async #hits(rule: AlertRule, now: number): Promise<Hit[]> {
    const threshold = rule.threshold ?? 0;
    const gateway = () => this.#gateway();
    switch (rule.condition) {
      case 'queue_age': {
        const age = gateway().queue.oldestAgeMs;
        return age !== null && age > threshold * 1000
          ? [{ message: `the oldest queued message is ${Math.round(age / 1000)} s old (over ${threshold} s)` }]
          : [];
      }
      case 'store_unreachable': {
        const since = gateway().store.unreachableSince;
        return since !== null && now - since > threshold * 1000
          ? [{ message: `the store has been unreachable for ${Math.round((now - since) / 1000)} s` }]
          : [];
      }
      case 'late':
        return this.#devices(rule, { statuses: ['late', 'silent'] }, () => 'no reading for longer than twice its reporting interval (late)');
      case 'silent':
        return this.#devices(rule, { statuses: ['silent'] }, () => 'no reading for longer than its silent threshold (silent)');
      case 'battery_low':
        return this.#devices(rule, { batteryLow: true }, (h) => `battery low (${h.battery ?? '?'})`);
      case 'offline':
        return this.#devices(
          rule,
          { online: false },
          (h) => `offline since ${new Date(h.lastDisconnectedAt ?? 0).toISOString()}`,
          (h) => h.lastDisconnectedAt !== null && now - h.lastDisconnectedAt > threshold * 60_000,
        );
      case 'rejections':
        return this.#devices(
          rule,
          {},
          () => `more than ${threshold} rejected messages in the last hour`,
          (_h, deviceId) => this.#rejections.total(deviceId, now) > threshold,
        );
    }
  }

  /** The devices of a rule's placement matching `filter` (and `also`), as hits. */
  async #devices(
    rule: AlertRule,
    filter: Omit<FleetFilter, 'limit'>,
    message: (h: FleetRow['health']) => string,
    also: (h: FleetRow['health'], deviceId: string) => boolean = () => true,
  ): Promise<Hit[]> {
    const scope: Scope = rule.companyId ? { kind: 'company', companyId: rule.companyId } : { kind: 'testbeds', testbedIds: [rule.testbedId] };
    const rows = await this.#ledger.listFleet(scope, { ...filter, testbedId: rule.testbedId, pilotId: rule.pilotId ?? undefined, limit: MAX_DEVICES });
    return rows
      .filter((r) => r.device.revokedAt === null && also(r.health, r.device.id))
      .map((r) => ({ deviceId: r.device.id, pilotId: r.device.pilotId, message: `${r.device.name ?? r.device.id}: ${message(r.health)}` }));
  }
}
