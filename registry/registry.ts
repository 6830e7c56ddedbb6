import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3, { type Database, type Statement } from 'better-sqlite3';
import {
  TestbedError,
  type Alert,
  type AlertRule,
  type ApiKey,
  type DeviceEvent,
  type Placement,
  GATEWAY_CONDITIONS,
  type AuditEntry,
  type Caller,
  type Command,
  type CommandResult,
  type ConfigDocument,
  type DesiredConfigChange,
  type DeviceConfig,
  type Company,
  type Device,
  type DeviceContext,
  type DeviceLocation,
  type Erasure,
  type PilotExport,
  type StoredReceipt,
  ANONYMOUS_KEY_ID,
  type KeyGrant,
  type Pilot,
  type Scope,
  type Testbed,
  type Webhook,
  type WebhookDelivery,
  hashSecret,
  verifySecret,
} from '../core/index.js';
import { AlertTable, type NewAlert, type NewAlertRule } from './alerts.js';
import { FleetQueries, type FleetCounts, type FleetFilter, type FleetRow } from './fleet.js';
import { HealthTable, type ActivityUpdate, type ConnectionUpdate, type HealthRecord, type StatusChange } from './health.js';
import { AuditLog, type AuditQuery, type AuditRecord } from './audit.js';
import { CommandTable, type CommandFilter, type NewCommand, type ResultRefusal } from './commands.js';
import { CompanyTable } from './companies.js';
import { DeviceConfigTable } from './device-config.js';
import { DevicePages, type DevicePage } from './device-pages.js';
import { DeviceTable, type DeviceChanges, type DeviceFilter, type DeviceProblem, type NewDevice } from './devices.js';
import { grantProblems, refuseGrant, scopeOf } from './key-policy.js';
import { KeyTable, type KeyHolder } from './keys.js';
import { LifecycleTable } from './lifecycle.js';
import { migrate } from './migrations.js';
import { PilotTable, refuseChange, refusePilotPlace, type NewPilot, type PilotChanges, type PilotFilter } from './pilots.js';
import type { CreatedDevice, CreatedKey, CreatedWebhook, HealthLedger, NewWebhook, TestbedRegistry } from './testbed-registry.js';
import { SqliteWebhookOutbox, type WebhookOutbox } from './webhook-outbox.js';
import { WebhookTable } from './webhooks.js';

/** The grant of the configured admin token, which has no row of its own. */
const ADMIN_GRANT: KeyGrant = { role: 'admin', companyId: null, testbedIds: null, readOnly: false, expiresAt: null };
const ADMIN_KEY_ID = 'admin';
/** What an anonymous caller is allowed: a researcher's reads, no key management (read-only keys create none). */
const ANONYMOUS_GRANT: KeyGrant = { role: 'researcher', companyId: null, testbedIds: null, readOnly: true, expiresAt: null };
const SETUP_KEY_ID = 'setup';

/**
 * The composition root acting on its own behalf, outside any request: the
 * demo's setup and test fixtures. It sees everything, and keys it makes have
 * no creator (`createdBy: null`). The API never uses it: its callers come from
 * `authenticateKey`.
 */
export const SETUP_CALLER: Caller = { keyId: SETUP_KEY_ID, role: 'admin', scope: { kind: 'all' }, readOnly: false, grant: ADMIN_GRANT };

export interface RegistryOptions {
  /** The clock (epoch ms) for created, revoked, ended and expiry times; tests move it. */
  readonly now?: () => number;
  /** Live (not revoked, not expired) keys one company may have, and one key may have minted under it (TESTBED_MAX_LIVE_KEYS). */
  readonly maxLiveKeys?: number;
}

/** The default of `maxLiveKeys`. */
export const DEFAULT_MAX_LIVE_KEYS = 100;

/**
 * Testbeds, companies, pilots, devices, commands, API keys and the audit log, in an
 * embedded SQLite database. Lookups are indexed point reads (microseconds), so
 * the gateway may call them at CONNECT.
 *
 * The tables are private; `TestbedRegistry` is the door, and every read of
 * tenant data through it takes a scope. Beyond it, only the composition root's
 * own needs: opening and closing, and the gateway's credential check.
 */
export class Registry implements TestbedRegistry, HealthLedger {
  readonly #db: Database;
  readonly #now: () => number;
  readonly #adminDigest: Buffer | undefined;
  readonly #companies: CompanyTable;
  readonly #pilots: PilotTable;
  readonly #devices: DeviceTable;
  readonly #devicePages: DevicePages;
  readonly #keys: KeyTable;
  readonly #audit: AuditLog;
  readonly #commands: CommandTable;
  readonly #config: DeviceConfigTable;
  readonly #health: HealthTable;
  readonly #fleet: FleetQueries;
  readonly #alerts: AlertTable;
  readonly #webhooks: WebhookTable;
  /** The lifecycle stage's bookkeeping (exports, erasures, retention): the composition root's, not the API's. */
  readonly lifecycle: LifecycleTable;
  /** The webhook dispatcher's queue (the composition root's, not the API's). */
  readonly webhookOutbox: WebhookOutbox;
  readonly #stmts: Record<'testbeds' | 'testbed' | 'testbedRetention' | 'secret' | 'insertSecret', Statement>;
  readonly #maxLiveKeys: number;

  private constructor(db: Database, adminToken: string | undefined, now: () => number, maxLiveKeys: number) {
    this.#db = db;
    this.#now = now;
    this.#maxLiveKeys = maxLiveKeys;
    this.#adminDigest = adminToken === undefined ? undefined : hashSecret(adminToken);
    this.#companies = new CompanyTable(db, now);
    this.#pilots = new PilotTable(db, now);
    this.#devices = new DeviceTable(db, now);
    this.#devicePages = new DevicePages(db);
    this.#keys = new KeyTable(db, now);
    this.#audit = new AuditLog(db, now);
    this.#commands = new CommandTable(db, now);
    this.#config = new DeviceConfigTable(db, now);
    this.#health = new HealthTable(db);
    this.#fleet = new FleetQueries(db);
    this.#alerts = new AlertTable(db, now);
    this.#webhooks = new WebhookTable(db, now);
    this.webhookOutbox = new SqliteWebhookOutbox(db);
    this.lifecycle = new LifecycleTable(db, now);
    this.#stmts = {
      testbeds: db.prepare('SELECT id, name, city, retention_days AS retentionDays FROM testbeds ORDER BY rowid'),
      testbed: db.prepare('SELECT id, name, city, retention_days AS retentionDays FROM testbeds WHERE id = ?'),
      testbedRetention: db.prepare('UPDATE testbeds SET retention_days = ? WHERE id = ?'),
      secret: db.prepare('SELECT value FROM secrets WHERE name = ?'),
      insertSecret: db.prepare('INSERT OR IGNORE INTO secrets (name, value) VALUES (?, ?)'),
    };
  }

  /** Opens (creating and migrating as needed) `registry.db` in the data folder. */
  static open(dataDir: string, adminToken: string | undefined, options: RegistryOptions = {}): Registry {
    fs.mkdirSync(dataDir, { recursive: true });
    const db = new BetterSqlite3(path.join(dataDir, 'registry.db'));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    migrate(db);
    return new Registry(db, adminToken, options.now ?? Date.now, options.maxLiveKeys ?? DEFAULT_MAX_LIVE_KEYS);
  }

  close(): void {
    this.#db.close();
  }

  /**
   * Checks MQTT credentials at CONNECT (see DeviceTable.authenticate): the
   * gateway's door, unscoped because the device is who is being identified.
   */
  authenticateDevice(username: string, password: Buffer): DeviceContext | undefined {
    return this.#devices.authenticate(username, password);
  }

  // The gateway's side of commands: the device of a connection is who is identified.

  /** The device's queued commands that have not expired, in the order they were sent. */
  pendingCommands(deviceId: string): Command[] {
    return this.#commands.pending(deviceId);
  }

  /** Marks a queued command delivered (the device's PUBACK came); undefined when it was not queued or has expired. */
  markCommandDelivered(deviceId: string, commandId: string): Command | undefined {
    return this.#commands.delivered(deviceId, commandId);
  }

  /** Records a device's answer to one of its own commands. */
  recordCommandResult(deviceId: string, commandId: string, result: CommandResult): Command | ResultRefusal {
    return this.#commands.answer(deviceId, commandId, result);
  }

  /** Marks every command past its TTL expired, and returns them. */
  expireCommands(): Command[] {
    return this.#commands.expire();
  }

  /** Desired configuration documents set at or after `since` (epoch ms), oldest first: what the gateway sends. */
  desiredConfigsSince(since: number): DesiredConfigChange[] {
    return this.#config.desiredSince(since);
  }

  /** Records the configuration a connected device reports (already checked against its profile). */
  recordReportedConfig(deviceId: string, config: ConfigDocument, version: number | null): DeviceConfig {
    return this.#config.setReported(deviceId, config, version);
  }

  /**
   * Every device that may connect, with its testbed: for the metrics' device
   * counts (composition root only; no tenant data leaves the process).
   */
  activeDevices(): { id: string; testbedId: string }[] {
    return this.#db.prepare('SELECT id, testbed_id AS testbedId FROM devices WHERE revoked_at IS NULL').all() as { id: string; testbedId: string }[];
  }

  // Who is calling. Called once per request, so revocation, expiry and a
  // researcher's shared pilots take effect at the next request.

  authenticateKey(presented: string): Caller | undefined {
    if (this.#adminDigest && verifySecret(presented, this.#adminDigest)) return this.#adminCaller();
    const holder = this.#keys.authenticate(presented);
    return holder && this.#callerOf(holder);
  }

  anonymousCaller(): Caller {
    return {
      keyId: ANONYMOUS_KEY_ID,
      role: 'anonymous',
      scope: { kind: 'research', pilotIds: this.#pilots.openPilotIds() },
      readOnly: true,
      grant: ANONYMOUS_GRANT,
    };
  }

  recheckKey(keyId: string): Caller | undefined {
    if (keyId === ANONYMOUS_KEY_ID) return this.anonymousCaller();
    if (keyId === ADMIN_KEY_ID) return this.#adminDigest ? this.#adminCaller() : undefined;
    const holder = this.#keys.active(keyId);
    return holder && this.#callerOf(holder);
  }

  now(): number {
    return this.#now();
  }

  secret(name: string): Buffer {
    this.#stmts.insertSecret.run(name, randomBytes(32));
    return (this.#stmts.secret.get(name) as { value: Buffer }).value;
  }

  listTestbeds(): Testbed[] {
    return this.#stmts.testbeds.all() as Testbed[];
  }

  getTestbed(id: string): Testbed | undefined {
    return this.#stmts.testbed.get(id) as Testbed | undefined;
  }

  setTestbedRetention(scope: Scope, id: string, days: number | null): Testbed | undefined {
    const runs = scope.kind === 'all' || (scope.kind === 'testbeds' && scope.testbedIds.includes(id));
    if (!runs || !this.getTestbed(id)) return undefined;
    this.#mayChange(scope);
    this.#stmts.testbedRetention.run(days, id);
    return this.getTestbed(id);
  }

  // Companies

  createCompany(scope: Scope, name: string): Company {
    if (scope.kind !== 'all') throw new TestbedError('TESTBED_FORBIDDEN', 'Only the admin may create companies');
    return this.#companies.create(name);
  }

  getCompany(scope: Scope, id: string): Company | undefined {
    return this.#companies.get(scope, id);
  }

  listCompanies(scope: Scope): Company[] {
    return this.#companies.list(scope);
  }

  createCompanyKey(creator: Caller, companyId: string, name?: string): CreatedKey {
    const wanted: KeyGrant = { role: 'company', companyId, testbedIds: null, readOnly: false, expiresAt: null };
    const refused = refuseGrant(creator.grant, wanted);
    if (refused) throw new TestbedError('TESTBED_FORBIDDEN', refused);
    if (!this.#companies.get(creator.scope, companyId)) throw new TestbedError('TESTBED_NOT_FOUND', `No company ${companyId}`);
    this.#refuseOverKeyLimit(creator, wanted);
    return this.#keys.create({ ...wanted, name: name ?? null, createdBy: createdBy(creator) });
  }

  // Pilots

  createPilot(scope: Scope, input: NewPilot): Pilot {
    const refused = refusePilotPlace(scope, input.testbedId);
    if (refused) throw new TestbedError('TESTBED_FORBIDDEN', refused);
    // Any company may run a pilot in the operator's testbeds, including one it cannot see yet.
    if (!this.#companies.exists(input.companyId)) throw new TestbedError('TESTBED_NOT_FOUND', `No company ${input.companyId}`);
    if (!this.getTestbed(input.testbedId)) throw new TestbedError('TESTBED_NOT_FOUND', `No testbed ${input.testbedId}`);
    return this.#pilots.create(input);
  }

  getPilot(scope: Scope, id: string): Pilot | undefined {
    return this.#pilots.get(scope, id);
  }

  listPilots(scope: Scope, filter: PilotFilter = {}): Pilot[] {
    return this.#pilots.list(scope, filter);
  }

  updatePilot(scope: Scope, id: string, changes: PilotChanges): Pilot | undefined {
    return this.#pilots.update(scope, id, changes);
  }

  endPilot(scope: Scope, id: string): Pilot | undefined {
    if (this.#pilots.get(scope, id)) this.#mayChange(scope);
    return this.#pilots.end(scope, id);
  }

  // The end of a pilot: exports, erasures, receipts

  createExport(caller: Caller, pilotId: string): PilotExport | undefined {
    const pilot = this.#pilots.get(caller.scope, pilotId);
    return pilot && this.lifecycle.createExport(pilot, caller.keyId);
  }

  getExport(scope: Scope, id: string): PilotExport | undefined {
    return this.lifecycle.getExport(scope, id);
  }

  beginErasure(caller: Caller, pilotId: string, forced: boolean): Erasure | undefined {
    const pilot = this.#pilots.get(caller.scope, pilotId);
    if (!pilot) return undefined;
    this.#mayChange(caller.scope);
    return this.lifecycle.beginErasure(pilot, caller.keyId, forced);
  }

  getErasure(scope: Scope, pilotId: string): Erasure | undefined {
    if (!this.#pilots.get(scope, pilotId)) return undefined;
    return (
      this.lifecycle.getErasure(pilotId) ?? { pilotId, state: 'none', forced: false, requestedBy: null, startedAt: null, finishedAt: null, receiptId: null }
    );
  }

  getReceipt(scope: Scope, id: string): StoredReceipt | undefined {
    return this.lifecycle.getReceipt(scope, id);
  }

  // Devices

  createDevice(scope: Scope, pilotId: string, input: NewDevice): CreatedDevice {
    const pilot = this.#pilot(scope, pilotId);
    this.#mayChange(scope);
    return this.#devices.create(pilot, input);
  }

  checkNewDevices(scope: Scope, pilotId: string, inputs: readonly NewDevice[]): DeviceProblem[] {
    this.#pilot(scope, pilotId);
    return this.#devices.check(inputs);
  }

  createDevices(scope: Scope, pilotId: string, inputs: readonly NewDevice[]): CreatedDevice[] {
    const pilot = this.#pilot(scope, pilotId);
    this.#mayChange(scope);
    return this.#devices.createMany(pilot, inputs);
  }

  getDevice(scope: Scope, id: string): Device | undefined {
    return this.#devices.get(scope, id);
  }

  listDevices(scope: Scope, pilotId: string, filter: DeviceFilter = {}): Device[] {
    return this.#devices.list(scope, pilotId, filter);
  }

  updateDevice(scope: Scope, id: string, changes: DeviceChanges): Device | undefined {
    return this.#devices.update(scope, id, changes);
  }

  listDeviceLocations(scope: Scope, id: string): DeviceLocation[] | undefined {
    return this.#devices.locations(scope, id);
  }

  listScopedDevices(scope: Scope, page: DevicePage = {}): Device[] {
    return this.#devicePages.list(scope, page);
  }

  countScopedDevices(scope: Scope): number {
    return this.#devicePages.count(scope);
  }

  listScopedLocations(scope: Scope, deviceIds?: readonly string[]): DeviceLocation[] {
    return this.#devicePages.locations(scope, deviceIds);
  }

  rotateDevice(scope: Scope, id: string): CreatedDevice | undefined {
    return this.#devices.rotate(scope, id);
  }

  revokeDevice(scope: Scope, id: string): Device | undefined {
    return this.#devices.revoke(scope, id);
  }

  // Commands

  sendCommand(caller: Caller, deviceId: string, input: NewCommand): Command | undefined {
    const device = this.#devices.get(caller.scope, deviceId);
    if (!device) return undefined;
    if (device.revokedAt !== null) throw new TestbedError('TESTBED_CONFLICT', 'The device is revoked; it can no longer connect to receive commands');
    return this.#commands.create(device, input, caller.keyId);
  }

  listCommands(scope: Scope, deviceId: string, filter: CommandFilter = {}): Command[] {
    return this.#commands.list(scope, deviceId, filter);
  }

  getCommand(scope: Scope, deviceId: string, commandId: string): Command | undefined {
    return this.#commands.get(scope, deviceId, commandId);
  }

  // Configuration

  getDeviceConfig(scope: Scope, deviceId: string): DeviceConfig | undefined {
    return this.#devices.get(scope, deviceId) && this.#config.get(deviceId);
  }

  setDesiredConfig(caller: Caller, deviceId: string, config: ConfigDocument): DeviceConfig | undefined {
    const device = this.#devices.get(caller.scope, deviceId);
    if (!device) return undefined;
    if (device.revokedAt !== null) throw new TestbedError('TESTBED_CONFLICT', 'The device is revoked; it can no longer connect to receive its configuration');
    return this.#config.setDesired(device.id, config, caller.keyId);
  }

  // API keys

  createKey(creator: Caller, wanted: KeyGrant, name: string | null): CreatedKey {
    const problems = grantProblems(wanted);
    if (problems.length > 0) throw new TestbedError('TESTBED_BAD_REQUEST', `Invalid key: ${problems.join('; ')}`);
    const refused = refuseGrant(creator.grant, wanted);
    if (refused) throw new TestbedError('TESTBED_FORBIDDEN', refused);
    if (wanted.companyId !== null && !this.#companies.get(creator.scope, wanted.companyId)) {
      throw new TestbedError('TESTBED_NOT_FOUND', 'No company with this id');
    }
    this.#refuseOverKeyLimit(creator, wanted);
    return this.#keys.create({ ...wanted, name, createdBy: createdBy(creator) });
  }

  /**
   * A leaked key cannot multiply itself: a company has at most `maxLiveKeys`
   * live keys, and a key (other than the admin's) at most that many live keys
   * minted under it, whoever minted them.
   */
  #refuseOverKeyLimit(creator: Caller, wanted: KeyGrant): void {
    const max = this.#maxLiveKeys;
    if (wanted.companyId !== null && this.#keys.liveOfCompany(wanted.companyId) >= max) {
      throw new TestbedError('TESTBED_KEY_LIMIT', `This company has ${max} live keys, the most it may; revoke one first`, { limit: max });
    }
    if (creator.role !== 'admin' && this.#keys.liveMintedBy(creator.keyId) >= max) {
      throw new TestbedError('TESTBED_KEY_LIMIT', `This key has ${max} live keys minted under it, the most it may; revoke one first`, { limit: max });
    }
  }

  listKeys(holder: KeyGrant): ApiKey[] {
    return this.#keys.list(holder);
  }

  revokeKey(holder: KeyGrant, id: string): ApiKey | undefined {
    return this.#keys.revoke(holder, id);
  }

  // Device health and alerts: reads in the caller's scope

  getDeviceHealth(scope: Scope, deviceId: string): HealthRecord | undefined {
    return this.#health.get(scope, deviceId);
  }

  listFleet(scope: Scope, filter: FleetFilter): FleetRow[] {
    // The page comes from the fleet query; each device is then read as this scope may see it
    // (its location exact or on the pilot's grid), by an indexed point read.
    return this.#fleet.list(scope, filter).flatMap((row) => {
      const device = this.#devices.get(scope, row.device.id);
      return device ? [{ ...row, device }] : [];
    });
  }

  fleetCounts(scope: Scope, testbedId: string): FleetCounts {
    return this.#fleet.counts(scope, testbedId);
  }

  listDeviceEvents(scope: Scope, deviceId: string, range: { from: number; to: number; limit: number }): DeviceEvent[] | undefined {
    if (!this.#devices.get(scope, deviceId)) return undefined;
    return this.#health.events(scope, deviceId, range.from, range.to, range.limit);
  }

  createAlertRule(scope: Scope, input: Omit<NewAlertRule, 'companyId'>): AlertRule {
    if (input.pilotId !== undefined) {
      const pilot = this.#pilot(scope, input.pilotId);
      if (GATEWAY_CONDITIONS.has(input.condition))
        throw new TestbedError('TESTBED_BAD_REQUEST', `${input.condition} is about the gateway: give a testbedId, not a pilotId`);
      // A company's rule is the company's (and its operators see it); an operator's stays the operator's.
      const companyId = scope.kind === 'company' ? pilot.companyId : undefined;
      return this.#alerts.createRule({ ...input, testbedId: pilot.testbedId, companyId });
    }
    if (scope.kind !== 'all' && !(scope.kind === 'testbeds' && scope.testbedIds.includes(input.testbedId))) {
      throw new TestbedError('TESTBED_FORBIDDEN', 'A rule on a whole testbed is for the operators of that testbed; a company gives one of its pilots');
    }
    if (!this.getTestbed(input.testbedId)) throw new TestbedError('TESTBED_NOT_FOUND', `No testbed ${input.testbedId}`);
    return this.#alerts.createRule(input);
  }

  listAlertRules(scope: Scope): AlertRule[] {
    return this.#alerts.listRules(scope);
  }

  deleteAlertRule(scope: Scope, id: string): AlertRule | undefined {
    return this.#alerts.deleteRule(scope, id);
  }

  listAlerts(scope: Scope, state: 'open' | 'resolved' | undefined, limit: number): Alert[] {
    return this.#alerts.list(scope, state, limit);
  }

  // The health stage's door (HealthLedger): system writes, as the gateway's credential check is.

  reportedIntervals(): Map<string, number> {
    return this.#config.reportedIntervals();
  }

  setHealthContract(deviceId: string, lateMs: number, silentMs: number): void {
    this.#health.setContract(deviceId, lateMs, silentMs);
  }

  resetOnline(): void {
    this.#health.resetOnline();
  }

  placementOf(deviceId: string): Placement | undefined {
    const d = this.#devices.get({ kind: 'all' }, deviceId);
    return d && { companyId: d.companyId, testbedId: d.testbedId, pilotId: d.pilotId };
  }

  recordActivity(updates: readonly ActivityUpdate[]): StatusChange[] {
    return this.#health.recordActivity(updates, (id) => this.placementOf(id));
  }

  recordConnection(update: ConnectionUpdate): void {
    this.#health.recordConnection(update);
  }

  recordDeviceEvent(deviceId: string, at: number, event: Omit<DeviceEvent, 'time'>): void {
    this.#health.recordEvent(deviceId, at, event);
  }

  evaluateStatuses(now: number): StatusChange[] {
    return this.#health.evaluate(now);
  }

  allAlertRules(): AlertRule[] {
    return this.#alerts.allRules();
  }

  openAlerts(): (Alert & { companyId: string | null })[] {
    return this.#alerts.openAlerts();
  }

  openAlert(alert: NewAlert): Alert {
    return this.#alerts.open(alert);
  }

  resolveAlert(id: string, at: number): Alert | undefined {
    return this.#alerts.resolve(id, at);
  }

  // Audit log

  recordAudit(caller: Caller, entry: AuditRecord): void {
    // The log is of what keys did; anonymous reads of open data are not recorded.
    if (caller.role === 'anonymous') return;
    this.#audit.record({ ...entry, keyId: caller.keyId, role: caller.role });
  }

  listAudit(scope: Scope, query: AuditQuery): AuditEntry[] {
    return this.#audit.list(scope, query);
  }

  /** Researchers and anonymous callers see some pilots but change none: refused after the object was found, as the API does. */
  #mayChange(scope: Scope): void {
    const refused = refuseChange(scope);
    if (refused) throw new TestbedError('TESTBED_FORBIDDEN', refused);
  }

  // Webhooks

  createWebhook(creator: Caller, input: NewWebhook): CreatedWebhook {
    const place = this.#webhookPlace(creator, input);
    return this.#webhooks.create({ url: input.url, events: input.events, ...place, createdBy: createdBy(creator) });
  }

  getWebhook(scope: Scope, id: string): Webhook | undefined {
    return this.#webhooks.get(scope, id);
  }

  listWebhooks(scope: Scope): Webhook[] {
    return this.#webhooks.list(scope);
  }

  deleteWebhook(scope: Scope, id: string): Webhook | undefined {
    return this.#webhooks.delete(scope, id);
  }

  listWebhookDeliveries(scope: Scope, id: string, limit: number): WebhookDelivery[] | undefined {
    return this.#webhooks.deliveries(scope, id, limit);
  }

  /** Where a new webhook sits: where its target sits, or the creator's whole scope. */
  #webhookPlace(creator: Caller, input: NewWebhook): { companyId: string | null; testbedId: string | null; pilotId: string | null } {
    if (input.pilotId !== undefined) {
      const pilot = this.#pilot(creator.scope, input.pilotId);
      return { companyId: pilot.companyId, testbedId: pilot.testbedId, pilotId: pilot.id };
    }
    const { scope } = creator;
    if (input.testbedId !== undefined) {
      if (scope.kind !== 'all' && !(scope.kind === 'testbeds' && scope.testbedIds.includes(input.testbedId))) {
        throw new TestbedError('TESTBED_FORBIDDEN', 'Only the admin and the operators of a testbed may watch a whole testbed; give pilotId instead');
      }
      if (!this.getTestbed(input.testbedId)) throw new TestbedError('TESTBED_NOT_FOUND', `No testbed ${input.testbedId}`);
      return { companyId: null, testbedId: input.testbedId, pilotId: null };
    }
    if (scope.kind === 'all') return { companyId: null, testbedId: null, pilotId: null };
    if (scope.kind === 'company') return { companyId: scope.companyId, testbedId: null, pilotId: null };
    throw new TestbedError('TESTBED_BAD_REQUEST', 'Give the testbedId or pilotId this webhook watches');
  }

  #pilot(scope: Scope, id: string): Pilot {
    const pilot = this.#pilots.get(scope, id);
    if (!pilot) throw new TestbedError('TESTBED_NOT_FOUND', `No pilot ${id}`);
    return pilot;
  }

  #adminCaller(): Caller {
    return { keyId: ADMIN_KEY_ID, role: 'admin', scope: { kind: 'all' }, readOnly: false, grant: ADMIN_GRANT };
  }

  #callerOf(holder: KeyHolder): Caller {
    const scope = scopeOf(holder.grant, (testbedIds) => this.#pilots.sharedPilotIds(testbedIds));
    return { keyId: holder.keyId, role: holder.grant.role, scope, readOnly: holder.grant.readOnly, grant: holder.grant };
  }
}

/** The creator a key records: the key that made it, or none when the composition root did. */
const createdBy = (creator: Caller): string | null => (creator.keyId === SETUP_KEY_ID ? null : creator.keyId);
