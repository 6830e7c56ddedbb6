import type {
  Alert,
  AlertRule,
  ApiKey,
  AuditEntry,
  Caller,
  Command,
  ConfigDocument,
  DeviceConfig,
  Company,
  Device,
  DeviceEvent,
  DeviceLocation,
  Erasure,
  KeyGrant,
  Pilot,
  PilotExport,
  Placement,
  Scope,
  StoredReceipt,
  Testbed,
  Webhook,
  WebhookDelivery,
  WebhookEvent,
} from '../core/index.js';
import type { NewAlert, NewAlertRule } from './alerts.js';
import type { FleetCounts, FleetFilter, FleetRow } from './fleet.js';
import type { ActivityUpdate, ConnectionUpdate, HealthRecord, StatusChange } from './health.js';
import type { AuditQuery, AuditRecord } from './audit.js';
import type { CommandFilter, NewCommand } from './commands.js';
import type { DevicePage } from './device-pages.js';
import type { DeviceChanges, DeviceFilter, DeviceProblem, NewDevice } from './devices.js';
import type { LifecycleTable } from './lifecycle.js';
import type { NewPilot, PilotChanges, PilotFilter } from './pilots.js';

/** A device just registered, with its MQTT password: shown once, stored only as a digest. */
export interface CreatedDevice {
  readonly device: Device;
  readonly password: string;
}

/** A key just created: `key` is shown once, stored only as a digest. */
export interface CreatedKey {
  readonly key: string;
  readonly apiKey: ApiKey;
}

/** A webhook to create: its target is a pilot, a testbed (admins and operators), or neither (the caller's whole scope). */
export interface NewWebhook {
  readonly url: string;
  readonly events: readonly WebhookEvent[];
  readonly pilotId?: string | undefined;
  readonly testbedId?: string | undefined;
}

/** A webhook just created, with its signing secret: shown once. */
export interface CreatedWebhook {
  readonly webhook: Webhook;
  readonly secret: string;
}

/**
 * The registry as the API reaches it: the one door to tenant data. Every read
 * and write of a company, pilot, device, key or audit entry takes the caller's
 * `Scope` (or, where key policy decides, the caller's `KeyGrant` or `Caller`)
 * as its first argument, so a read that forgets the caller does not compile.
 * What takes no caller is how a caller is resolved in the first place, the
 * public testbed catalogue, the clock and the registry's own secrets.
 *
 * An object outside the scope is answered as a missing one (undefined), so a
 * caller cannot tell the two apart.
 */
export interface TestbedRegistry {
  /** The caller of a presented key, or undefined when it is unknown, wrong, revoked or expired. */
  authenticateKey(presented: string): Promise<Caller | undefined>;
  /**
   * The caller of a request without a key, resolved afresh for each request: a
   * `research` scope over the pilots open at this moment (past any embargo), so
   * every scoped read treats it as a researcher of open data only. Its role is
   * `anonymous`: routes admit it only by naming that role, and the registry
   * refuses it every change.
   */
  anonymousCaller(): Promise<Caller>;
  /** The caller of a key (or of anonymous, by ANONYMOUS_KEY_ID) that authenticated earlier, resolved afresh: for requests that outlive that moment. */
  recheckKey(keyId: string): Promise<Caller | undefined>;
  /** The registry's clock (epoch ms): what expiry and revocation times are compared with. */
  now(): number;
  /** A named random secret, made on first use and kept (e.g. the cursor-signing key). */
  secret(name: string): Promise<Buffer>;

  /** The testbeds: the public catalogue, the same for every key. */
  listTestbeds(): Promise<Testbed[]>;
  getTestbed(id: string): Promise<Testbed | undefined>;
  /** Sets a testbed's default retention (days; null: none) for one the scope runs: the admin's any, an operator's own; undefined otherwise. */
  setTestbedRetention(scope: Scope, id: string, days: number | null): Promise<Testbed | undefined>;

  /** Only the `all` scope (the admin) creates companies; others get TESTBED_FORBIDDEN. */
  createCompany(scope: Scope, name: string): Promise<Company>;
  getCompany(scope: Scope, id: string): Promise<Company | undefined>;
  listCompanies(scope: Scope): Promise<Company[]>;
  /** A key of a company the creator sees, within key policy (TESTBED_FORBIDDEN otherwise). */
  createCompanyKey(creator: Caller, companyId: string, name?: string): Promise<CreatedKey>;

  /** A pilot in a testbed of the scope: the admin anywhere, an operator in its own testbeds. */
  createPilot(scope: Scope, input: NewPilot): Promise<Pilot>;
  getPilot(scope: Scope, id: string): Promise<Pilot | undefined>;
  listPilots(scope: Scope, filter?: PilotFilter): Promise<Pilot[]>;
  updatePilot(scope: Scope, id: string, changes: PilotChanges): Promise<Pilot | undefined>;
  /** Ends a pilot now: its devices can no longer connect. Ending twice keeps the first time. */
  endPilot(scope: Scope, id: string): Promise<Pilot | undefined>;

  /** Registers a device in a pilot of the scope; a username in use is TESTBED_CONFLICT. */
  createDevice(scope: Scope, pilotId: string, input: NewDevice): Promise<CreatedDevice>;
  /**
   * The problems of new devices for a pilot of the scope. Usernames are MQTT
   * usernames, one namespace for the whole gateway, so one taken by any tenant
   * is reported (without saying by whom).
   */
  checkNewDevices(scope: Scope, pilotId: string, inputs: readonly NewDevice[]): Promise<DeviceProblem[]>;
  /** Registers devices in a pilot of the scope, all or nothing. */
  createDevices(scope: Scope, pilotId: string, inputs: readonly NewDevice[]): Promise<CreatedDevice[]>;
  getDevice(scope: Scope, id: string): Promise<Device | undefined>;
  /**
   * The devices of a pilot that the scope may see, oldest first. For the
   * `research` scope (researchers, anonymous) locations are on the pilot's
   * `locationPrecisionMeters` grid, and a bbox filters on what the reader sees.
   */
  listDevices(scope: Scope, pilotId: string, filter?: DeviceFilter): Promise<Device[]>;
  /** Changes a device's name, location, placement or field dates; a location change starts a new stretch of its history. */
  updateDevice(scope: Scope, id: string, changes: DeviceChanges): Promise<Device | undefined>;
  /** Where a device has stood, oldest first (coarsened as `listDevices`); undefined when the scope does not see the device. */
  listDeviceLocations(scope: Scope, id: string): Promise<DeviceLocation[] | undefined>;
  /**
   * The devices the scope sees across its pilots, in id order (as `listDevices`
   * publishes them), one query: a page after `afterId`, or the ones of `ids`.
   */
  listScopedDevices(scope: Scope, page?: DevicePage): Promise<Device[]>;
  /** How many devices the scope sees. */
  countScopedDevices(scope: Scope): Promise<number>;
  /** The location stretches of the devices the scope sees (or of these), by device, oldest first; one query. */
  listScopedLocations(scope: Scope, deviceIds?: readonly string[]): Promise<DeviceLocation[]>;
  /** A new secret for a device; the old one stops working at once. A revoked device is TESTBED_CONFLICT. */
  rotateDevice(scope: Scope, id: string): Promise<CreatedDevice | undefined>;
  revokeDevice(scope: Scope, id: string): Promise<Device | undefined>;

  /**
   * Queues a command for a device of the caller's scope (undefined when it sees
   * no such device; a revoked one is TESTBED_CONFLICT), recording the caller's
   * key as its sender. Its parameters are checked against the profile before.
   */
  sendCommand(caller: Caller, deviceId: string, input: NewCommand): Promise<Command | undefined>;
  /** A device's commands that the scope may see, newest first. */
  listCommands(scope: Scope, deviceId: string, filter?: CommandFilter): Promise<Command[]>;
  getCommand(scope: Scope, deviceId: string, commandId: string): Promise<Command | undefined>;

  /** A device's desired and reported configuration, and where they differ; undefined when the scope does not see the device. */
  getDeviceConfig(scope: Scope, deviceId: string): Promise<DeviceConfig | undefined>;
  /**
   * Replaces the desired configuration of a device of the caller's scope (a
   * revoked one is TESTBED_CONFLICT), already checked against its profile; its
   * version grows by one and the caller's key is recorded as who set it.
   */
  setDesiredConfig(caller: Caller, deviceId: string, config: ConfigDocument): Promise<DeviceConfig | undefined>;

  /** A key no wider than its creator's (key-policy.ts); TESTBED_FORBIDDEN otherwise. */
  createKey(creator: Caller, wanted: KeyGrant, name: string | null): Promise<CreatedKey>;
  /** The keys the holder may manage, oldest first, revoked and expired ones included. */
  listKeys(holder: KeyGrant): Promise<ApiKey[]>;
  revokeKey(holder: KeyGrant, id: string): Promise<ApiKey | undefined>;

  /** The health kept for a device of the scope (NO_HEALTH's values when nothing was recorded yet). */
  getDeviceHealth(scope: Scope, deviceId: string): Promise<HealthRecord | undefined>;
  /** Devices with their health across everything the scope sees, filtered, newest reading first unless asked otherwise. */
  listFleet(scope: Scope, filter: FleetFilter): Promise<FleetRow[]>;
  /** Counts of a testbed's devices the scope sees, by status, profile and pilot. */
  fleetCounts(scope: Scope, testbedId: string): Promise<FleetCounts>;
  /** A device's connection and status events in [from, to), oldest first; undefined when the device is not in the scope. */
  listDeviceEvents(scope: Scope, deviceId: string, range: { from: number; to: number; limit: number }): Promise<DeviceEvent[] | undefined>;

  /**
   * A rule on a pilot the scope sees, or on a whole testbed of an operator's
   * (or the admin's). Gateway conditions only on a testbed. TESTBED_FORBIDDEN
   * or TESTBED_NOT_FOUND otherwise.
   */
  createAlertRule(scope: Scope, input: Omit<NewAlertRule, 'companyId'>): Promise<AlertRule>;
  listAlertRules(scope: Scope): Promise<AlertRule[]>;
  deleteAlertRule(scope: Scope, id: string): Promise<AlertRule | undefined>;
  /** Alerts of the rules the scope sees, newest first. */
  listAlerts(scope: Scope, state: 'open' | 'resolved' | undefined, limit: number): Promise<Alert[]>;
  /**
   * A webhook on a pilot the caller sees, a testbed it operates (admin,
   * operator), or without a target: a company's whole company, the admin's
   * everything (an operator must name a testbed or pilot). TESTBED_FORBIDDEN or
   * TESTBED_NOT_FOUND otherwise. The URL is checked by the caller beforehand.
   */
  createWebhook(creator: Caller, input: NewWebhook): Promise<CreatedWebhook>;
  getWebhook(scope: Scope, id: string): Promise<Webhook | undefined>;
  listWebhooks(scope: Scope): Promise<Webhook[]>;
  /** Deletes a webhook and its pending messages. */
  deleteWebhook(scope: Scope, id: string): Promise<Webhook | undefined>;
  /** The newest messages of a webhook the scope sees, with every attempt; undefined when it sees no such webhook. */
  listWebhookDeliveries(scope: Scope, id: string, limit: number): Promise<WebhookDelivery[] | undefined>;

  /** Records a new export bundle of a pilot the caller sees (undefined when it sees none), to be built by the lifecycle stage. */
  createExport(caller: Caller, pilotId: string): Promise<PilotExport | undefined>;
  /** An export of a pilot the scope sees. */
  getExport(scope: Scope, id: string): Promise<PilotExport | undefined>;
  /**
   * Starts erasing a pilot the caller sees, or returns the erasure already
   * started (erasure is idempotent); undefined when it sees no such pilot.
   * Whether it may (ended, confirmed, forced by an admin) is the caller's to check first.
   */
  beginErasure(caller: Caller, pilotId: string, forced: boolean): Promise<Erasure | undefined>;
  /** The erasure of a pilot the scope sees (state `none` when never asked); undefined when it sees no such pilot. */
  getErasure(scope: Scope, pilotId: string): Promise<Erasure | undefined>;
  /** A signed erasure receipt of a pilot the scope sees. */
  getReceipt(scope: Scope, id: string): Promise<StoredReceipt | undefined>;

  /** Writes one audit entry for a request made by `caller`. */
  recordAudit(caller: Caller, entry: AuditRecord): Promise<void>;
  /** The audit entries the scope may see, oldest first. */
  listAudit(scope: Scope, query: AuditQuery): Promise<AuditEntry[]>;
}

/**
 * The health stage's door to the registry: system writes made on behalf of the
 * gateway and ingest (connections, stored batches, status changes, alerts), as
 * the gateway's credential check is. Never handed to the API.
 */
export interface HealthLedger {
  /** Each device's newest stored reading (epoch ms), read once at start so that ingest needs no query per reading. */
  lastReadingTimes(): Promise<Map<string, number>>;
  /** No connection survives a restart: every device starts offline. */
  resetOnline(): Promise<void>;
  /** The `reportingIntervalSeconds` each device last reported in its configuration, for those that did. */
  reportedIntervals(): Promise<Map<string, number>>;
  /** Replaces a device's late and silent thresholds (its reported interval changed). */
  setHealthContract(deviceId: string, lateMs: number, silentMs: number): Promise<void>;
  placementOf(deviceId: string): Promise<Placement | undefined>;
  /** One transaction for a whole batch; devices whose status was not `ok` come back as changes. */
  recordActivity(updates: readonly ActivityUpdate[]): Promise<StatusChange[]>;
  /** Connections and disconnections, in order, in one transaction (a fleet reconnecting costs one commit per batch, not per device). */
  recordConnections(updates: readonly ConnectionUpdate[]): Promise<void>;
  recordDeviceEvent(deviceId: string, at: number, event: Omit<DeviceEvent, 'time'>): Promise<void>;
  /** Moves every device whose status the clock changed, and says which. */
  evaluateStatuses(now: number): Promise<StatusChange[]>;
  allAlertRules(): Promise<AlertRule[]>;
  /** Open alerts, with their rule's company (for scoping events). */
  openAlerts(): Promise<(Alert & { companyId: string | null })[]>;
  openAlert(alert: NewAlert): Promise<Alert>;
  resolveAlert(id: string, at: number): Promise<Alert | undefined>;
  /** Devices with health, for rule evaluation, within a rule's placement. */
  listFleet(scope: Scope, filter: FleetFilter): Promise<FleetRow[]>;
}

/**
 * The lifecycle stage's door to the registry: the bookkeeping of export
 * bundles and erasures it runs in the background, and the removal of a pilot's
 * device remnants. System writes, never handed to the API.
 */
export type LifecycleLedger = Pick<
  LifecycleTable,
  | 'exportProgress'
  | 'finishExport'
  | 'failExport'
  | 'failUnfinishedExports'
  | 'lastExport'
  | 'exportIds'
  | 'unfinishedErasures'
  | 'counted'
  | 'recordCounted'
  | 'countRemnants'
  | 'eraseRemnants'
  | 'checkRemnants'
  | 'completeErasure'
  | 'retentionPlan'
>;
