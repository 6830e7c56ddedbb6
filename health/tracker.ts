import type { DisconnectReason, EventBus, TestbedEvent } from '../core/index.js';
import type { ActivityUpdate, ConnectionUpdate, HealthLedger, StatusChange } from '../registry/index.js';
import type { Reading, Rejection } from '../store/index.js';
import type { ProfileCatalogue } from '../device-profiles/index.js';
import { batteryOf, contractOf, signalOf } from './contract.js';
import type { RejectionCounter } from './rejections.js';

/** How long connections and disconnections are gathered before they are written. */
const CONNECTIONS_GATHER_MS = 50;

/**
 * Folds what happens into the health the registry keeps. Stored readings are
 * gathered per device in memory and written as one transaction per flush (the
 * newest reading of each device wins), never one write per reading.
 * Connections, disconnections and wills come from the event bus.
 */
export class HealthTracker {
  readonly #ledger: HealthLedger;
  readonly #profiles: ProfileCatalogue;
  readonly #events: EventBus;
  readonly #rejections: RejectionCounter;
  readonly #pending = new Map<string, ActivityUpdate>();
  /** The reporting interval each device reported in its configuration (seconds), which replaces its profile's. */
  readonly #intervals: Map<string, number>;
  readonly #failed: (err: unknown) => void;
  /** Registry writes, one after the other in the order their events came: a disconnect is never written before its connect. */
  #chain: Promise<void> = Promise.resolve();
  /** Connections and disconnections gathered for the next write (see #connection). */
  #connections: ConnectionUpdate[] = [];

  /** `intervals` is the ledger's `reportedIntervals()`, read at start; `failed` hears of a write the registry refused. */
  constructor(
    ledger: HealthLedger,
    profiles: ProfileCatalogue,
    events: EventBus,
    rejections: RejectionCounter,
    intervals: Map<string, number>,
    failed: (err: unknown) => void,
  ) {
    this.#ledger = ledger;
    this.#intervals = intervals;
    this.#failed = failed;
    this.#profiles = profiles;
    this.#events = events;
    this.#rejections = rejections;
  }

  /** A delivered batch: cheap bookkeeping only, the write waits for `flush`. */
  delivered(readings: readonly Reading[], rejections: readonly Rejection[]): void {
    for (const r of readings) this.#fold(r);
    for (const r of rejections) this.#rejections.add(r.deviceId, r.code, r.time);
  }

  /** Writes what was gathered, in one transaction, and publishes the status changes it made. */
  flush(): Promise<void> {
    if (this.#connections.length > 0) this.#writeConnections();
    if (this.#pending.size === 0) return this.#chain;
    const updates = [...this.#pending.values()];
    this.#pending.clear();
    return this.#serial(async () => this.#publishChanges(await this.#ledger.recordActivity(updates), Date.now()));
  }

  /** Forgets a device (its pilot was erased): gathered activity not yet written and its reported interval. */
  forget(deviceId: string): void {
    this.#pending.delete(deviceId);
    this.#connections = this.#connections.filter((u) => u.deviceId !== deviceId);
    this.#intervals.delete(deviceId);
  }

  /** Moves statuses the clock has changed (late, silent) and publishes them. */
  evaluate(now: number): Promise<void> {
    void this.flush();
    return this.#serial(async () => this.#publishChanges(await this.#ledger.evaluateStatuses(now), now));
  }

  /**
   * Gathers a connection or disconnection: those of CONNECTIONS_GATHER_MS, and
   * those that arrive while the write queue is busy, go in one transaction,
   * in order (a thousand devices reconnecting after a power cut cost a few
   * commits, not a thousand). Written at once, or at the next turn, a batch
   * held one device: connections arrive one per turn, and a commit each was a
   * third of the gateway's time in a connect storm.
   */
  #connection(update: ConnectionUpdate): void {
    this.#connections.push(update);
    if (this.#connections.length === 1) setTimeout(() => this.#writeConnections(), CONNECTIONS_GATHER_MS).unref();
  }

  /** Queues the write of the connections gathered by the time it runs (none left: nothing is written). */
  #writeConnections(): void {
    void this.#serial(() => {
      const batch = this.#connections;
      this.#connections = [];
      return this.#ledger.recordConnections(batch);
    });
  }

  /** Queues a registry write behind the others; a failure is reported and does not stop the ones after it. */
  #serial(work: () => Promise<void>): Promise<void> {
    this.#chain = this.#chain.then(work).catch(this.#failed);
    return this.#chain;
  }

  /** The bus listener: connections and wills become kept health and events. */
  onEvent(event: TestbedEvent): void {
    const deviceId = event.deviceId;
    if (deviceId === undefined) return;
    const ledger = this.#ledger;
    if (event.type === 'device.connected') this.#connection({ deviceId, at: event.at, online: true });
    else if (event.type === 'device.disconnected') {
      const reason = event.data.reason as DisconnectReason;
      this.#connection({ deviceId, at: event.at, online: event.data.stillOnline === true, reason });
    } else if (event.type === 'device.will') {
      if (this.#connections.length > 0) this.#writeConnections(); // the connection is written before its will
      void this.#serial(() => ledger.recordDeviceEvent(deviceId, event.at, { type: 'will', payload: String(event.data.payload) }));
    } else if (event.type === 'device.config.reported') this.#reportedInterval(deviceId, event.data);
  }

  /** A configuration report: its interval (or, without one, the profile's) judges the device from now on. */
  #reportedInterval(deviceId: string, data: TestbedEvent['data']): void {
    const seconds = data.reportingIntervalSeconds;
    if (typeof seconds === 'number' && seconds > 0) this.#intervals.set(deviceId, seconds);
    else this.#intervals.delete(deviceId);
    const profile = this.#profiles.get(String(data.profile));
    if (!profile) return;
    const contract = contractOf(profile, this.#intervals.get(deviceId));
    void this.#serial(() => this.#ledger.setHealthContract(deviceId, contract.lateMs, contract.silentMs));
  }

  #fold(r: Reading): void {
    const profile = this.#profiles.get(r.profile);
    if (!profile) return;
    const before = this.#pending.get(r.deviceId);
    const newer = !before || r.time >= before.lastReadingAt;
    const battery = batteryOf(profile, r);
    const signal = signalOf(profile, r);
    const contract = contractOf(profile, this.#intervals.get(r.deviceId));
    this.#pending.set(r.deviceId, {
      deviceId: r.deviceId,
      lastReadingAt: newer ? r.time : before.lastReadingAt,
      lateMs: contract.lateMs,
      silentMs: contract.silentMs,
      battery: (newer ? battery : undefined) ?? before?.battery ?? battery,
      signal: (newer ? signal : undefined) ?? before?.signal ?? signal,
    });
  }

  #publishChanges(changes: readonly StatusChange[], at: number): void {
    for (const c of changes) {
      this.#events.publish({
        type: 'device.status',
        at,
        testbedId: c.testbedId,
        companyId: c.companyId,
        pilotId: c.pilotId,
        deviceId: c.deviceId,
        data: { from: c.from, to: c.to },
      });
    }
  }
}
