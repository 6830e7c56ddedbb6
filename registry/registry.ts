import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
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
import { PilotTable, refuseChange, refusePilotPlace, type NewPilot, type PilotChanges, type PilotFilter } from './pilots.js';
import type { CreatedDevice, CreatedKey, CreatedWebhook, HealthLedger, NewWebhook, TestbedRegistry } from './testbed-registry.js';
import type { Database, Statement } from './sql/database.js';
import { openPostgres, openSqlite } from './sql/open.js';
import { SqlWebhookOutbox, type WebhookOutbox } from './webhook-outbox.js';
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

/** Where the registry is kept, besides `RegistryOptions`. */
export interface RegistryOpenOptions extends RegistryOptions {
  /** The SQLite file (TESTBED_REGISTRY_FILE); `registry.db` in the data folder by default. */
  readonly file?: string | undefined;
  /** PostgreSQL instead of SQLite (TESTBED_DATABASE_URL). */
  readonly databaseUrl?: string | undefined;
  /** Hears of PostgreSQL connections that break while idle (the pool replaces them). */
  readonly onConnectionError?: ((err: Error) => void) | undefined;
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
    this.webhookOutbox = new SqlWebhookOutbox(db);
    this.lifecycle = new LifecycleTable(db, now);
    this.#stmts = {
      testbeds: db.prepare('SELECT id, name, city, retention_days AS retentionDays FROM testbeds ORDER BY rowid'),
      testbed: db.prepare('SELECT id, name, city, retention_days AS retentionDays FROM testbeds WHERE id = ?'),
      testbedRetention: db.prepare('UPDATE testbeds SET retention_days = ? WHERE id = ?'),
      secret: db.prepare('SELECT value FROM secrets WHERE name = ?'),
      insertSecret: db.prepare('INSERT INTO secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING'),
    };
  }

  /**
   * Opens the registry: on PostgreSQL when `options.databaseUrl` is given
   * (shared by every node), else in the SQLite file `options.file`
   * (`registry.db` in the data folder by default), creating and migrating it
   * as needed.
   */
  static async open(dataDir: string, adminToken: string | undefined, options: RegistryOpenOptions = {}): Promise<Registry> {
    fs.mkdirSync(dataDir, { recursive: true });
    const db = options.databaseUrl
      ? await openPostgres(options.databaseUrl, options.onConnectionError ?? (() => undefined))
      : openSqlite(options.file ?? path.join(dataDir, 'registry.db'));
    return new Registry(db, adminToken, options.now ?? Date.now, options.maxLiveKeys ?? DEFAULT_MAX_LIVE_KEYS);
  }

  /** Which database holds the registry. */
  get dialect(): Database['dialect'] {
    return this.#db.dialect;
  }

  async close(): Promise<void> {
    await this.#db.close();
  }

  /**
   * Checks MQTT credentials at CONNECT (see DeviceTable.authenticate): the
   * gateway's door, unscoped because the device is who is being identified.
   * `waitMs`: how long the check may wait for others to share its query.
   */
  async authenticateDevice(username: string, password: Buffer, waitMs = 0): Promise<DeviceContext | undefined> {
    return this.#devices.authenticate(username, password, waitMs);
  }

  // The gateway's side of commands: the device of a connection is who is identified.

  /** The device's queued commands that have not expired, in the order they were sent. */
  async pendingCommands(deviceId: string): Promise<Command[]> {
    return this.#commands.pending(deviceId);
  }

  /** Marks a queued command delivered (the device's PUBACK came); undefined when it was not queued or has expired. */
  async markCommandDelivered(deviceId: string, commandId: string): Promise<Command | undefined> {
    return this.#commands.delivered(deviceId, commandId);
  }

  /** Records a device's answer to one of its own commands. */
  async recordCommandResult(deviceId: string, commandId: string, result: CommandResult): Promise<Command | ResultRefusal> {
    return this.#commands.answer(deviceId, commandId, result);
  }

  /** Marks every command past its TTL expired, and returns them. */
  async expireCommands(): Promise<Command[]> {
    return this.#commands.expire();
  }

  /** Desired configuration documents set at or after `since` (epoch ms), oldest first: what the gateway sends. */
  async desiredConfigsSince(since: number): Promise<DesiredConfigChange[]> {
    return this.#config.desiredSince(since);
  }

  /** Records the configuration a connected device reports (already checked against its profile). */
  async recordReportedConfig(deviceId: string, config: ConfigDocument, version: number | null): Promise<DeviceConfig> {
    return this.#config.setReported(deviceId, config, version);
  }

  /**
   * Every device that may connect, with its testbed: for the metrics' device
   * counts (composition root only; no tenant data leaves the process).
   */
  async activeDevices(): Promise<{ id: string; testbedId: string }[]> {
    return (await this.#db.prepare('SELECT id, testbed_id AS "testbedId" FROM devices WHERE revoked_at IS NULL').all()) as { id: string; testbedId: string }[];
  }

  // Who is calling. Called once per request, so revocation, expiry and a
  // researcher's shared pilots take effect at the next request.

  async authenticateKey(presented: string): Promise<Caller | undefined> {
    if (this.#adminDigest && verifySecret(presented, this.#adminDigest)) return this.#adminCaller();
    const holder = await this.#keys.authenticate(presented);
    return holder && (await this.#callerOf(holder));
  }

  async anonymousCaller(): Promise<Caller> {
    return {
      keyId: ANONYMOUS_KEY_ID,
      role: 'anonymous',
      scope: { kind: 'research', pilotIds: await this.#pilots.openPilotIds() },
      readOnly: true,
      grant: ANONYMOUS_GRANT,
    };
  }

  async recheckKey(keyId: string): Promise<Caller | undefined> {
    if (keyId === ANONYMOUS_KEY_ID) return await this.anonymousCaller();
    if (keyId === ADMIN_KEY_ID) return this.#adminDigest ? this.#adminCaller() : undefined;
    const holder = await this.#keys.active(keyId);
    return holder && (await this.#callerOf(holder));
  }

  now(): number {
    return this.#now();
  }

  async secret(name: string): Promise<Buffer> {
    await this.#stmts.insertSecret.run(name, randomBytes(32));
    return ((await this.#stmts.secret.get(name)) as { value: Buffer }).value;
  }

  async listTestbeds(): Promise<Testbed[]> {
    return (await this.#stmts.testbeds.all()) as Testbed[];
  }

  async getTestbed(id: string): Promise<Testbed | undefined> {
    return (await this.#stmts.testbed.get(id)) as Testbed | undefined;
  }

  async setTestbedRetention(scope: Scope, id: string, days: number | null): Promise<Testbed | undefined> {
    const runs = scope.kind === 'all' || (scope.kind === 'testbeds' && scope.testbedIds.includes(id));
    if (!runs || !(await this.getTestbed(id))) return undefined;
    this.#mayChange(scope);
    await this.#stmts.testbedRetention.run(days, id);
    return this.getTestbed(id);
  }

  // Companies

  async createCompany(scope: Scope, name: string): Promise<Company> {
    if (scope.kind !== 'all') throw new TestbedError('TESTBED_FORBIDDEN', 'Only the admin may create companies');
    return this.#companies.create(name);
  }

  async getCompany(scope: Scope, id: string): Promise<Company | undefined> {
    return this.#companies.get(scope, id);
  }

  async listCompanies(scope: Scope): Promise<Company[]> {
    return this.#companies.list(scope);
  }

  async createCompanyKey(creator: Caller, companyId: string, name?: string): Promise<CreatedKey> {
    const wanted: KeyGrant = { role: 'company', companyId, testbedIds: null, readOnly: false, expiresAt: null };
    const refused = refuseGrant(creator.grant, wanted);
    if (refused) throw new TestbedError('TESTBED_FORBIDDEN', refused);
    if (!(await this.#companies.get(creator.scope, companyId))) throw new TestbedError('TESTBED_NOT_FOUND', `No company ${companyId}`);
    await this.#refuseOverKeyLimit(creator, wanted);
    return await this.#keys.create({ ...wanted, name: name ?? null, createdBy: createdBy(creator) });
  }

  // Pilots

  async createPilot(scope: Scope, input: NewPilot): Promise<Pilot> {
    const refused = refusePilotPlace(scope, input.testbedId);
    if (refused) throw new TestbedError('TESTBED_FORBIDDEN', refused);
    // Any company may run a pilot in the operator's testbeds, including one it cannot see yet.
    if (!(await this.#companies.exists(input.companyId))) throw new TestbedError('TESTBED_NOT_FOUND', `No company ${input.companyId}`);
    if (!(await this.getTestbed(input.testbedId))) throw new TestbedError('TESTBED_NOT_FOUND', `No testbed ${input.testbedId}`);
    return this.#pilots.create(input);
  }

  async getPilot(scope: Scope, id: string): Promise<Pilot | undefined> {
    return this.#pilots.get(scope, id);
  }

  async listPilots(scope: Scope, filter: PilotFilter = {}): Promise<Pilot[]> {
    return this.#pilots.list(scope, filter);
  }

  async updatePilot(scope: Scope, id: string, changes: PilotChanges): Promise<Pilot | undefined> {
    return this.#pilots.update(scope, id, changes);
  }

  async endPilot(scope: Scope, id: string): Promise<Pilot | undefined> {
    if (await this.#pilots.get(scope, id)) this.#mayChange(scope);
    return this.#pilots.end(scope, id);
  }

  // The end of a pilot: exports, erasures, receipts

  async createExport(caller: Caller, pilotId: string): Promise<PilotExport | undefined> {
    const pilot = await this.#pilots.get(caller.scope, pilotId);
    return pilot && (await this.lifecycle.createExport(pilot, caller.keyId));
  }

  async getExport(scope: Scope, id: string): Promise<PilotExport | undefined> {
    return this.lifecycle.getExport(scope, id);
  }

  async beginErasure(caller: Caller, pilotId: string, forced: boolean): Promise<Erasure | undefined> {
    const pilot = await this.#pilots.get(caller.scope, pilotId);
    if (!pilot) return undefined;
    this.#mayChange(caller.scope);
    return this.lifecycle.beginErasure(pilot, caller.keyId, forced);
  }

  async getErasure(scope: Scope, pilotId: string): Promise<Erasure | undefined> {
    if (!(await this.#pilots.get(scope, pilotId))) return undefined;
    return (
      (await this.lifecycle.getErasure(pilotId)) ?? {
        pilotId,
        state: 'none',
        forced: false,
        requestedBy: null,
        startedAt: null,
        finishedAt: null,
        receiptId: null,
      }
    );
  }

  async getReceipt(scope: Scope, id: string): Promise<StoredReceipt | undefined> {
    return this.lifecycle.getReceipt(scope, id);
  }

  // Devices

  async createDevice(scope: Scope, pilotId: string, input: NewDevice): Promise<CreatedDevice> {
    const pilot = await this.#pilot(scope, pilotId);
    this.#mayChange(scope);
    return this.#devices.create(pilot, input);
  }

  async checkNewDevices(scope: Scope, pilotId: string, inputs: readonly NewDevice[]): Promise<DeviceProblem[]> {
    await this.#pilot(scope, pilotId);
    return this.#devices.check(inputs);
  }

  async createDevices(scope: Scope, pilotId: string, inputs: readonly NewDevice[]): Promise<CreatedDevice[]> {
    const pilot = await this.#pilot(scope, pilotId);
    this.#mayChange(scope);
    return this.#devices.createMany(pilot, inputs);
  }

  async getDevice(scope: Scope, id: string): Promise<Device | undefined> {
    return this.#devices.get(scope, id);
  }

  async listDevices(scope: Scope, pilotId: string, filter: DeviceFilter = {}): Promise<Device[]> {
    return this.#devices.list(scope, pilotId, filter);
  }

  async updateDevice(scope: Scope, id: string, changes: DeviceChanges): Promise<Device | undefined> {
    return this.#devices.update(scope, id, changes);
  }

  async listDeviceLocations(scope: Scope, id: string): Promise<DeviceLocation[] | undefined> {
    return this.#devices.locations(scope, id);
  }

  async listScopedDevices(scope: Scope, page: DevicePage = {}): Promise<Device[]> {
    return this.#devicePages.list(scope, page);
  }

  async countScopedDevices(scope: Scope): Promise<number> {
    return this.#devicePages.count(scope);
  }

  async listScopedLocations(scope: Scope, deviceIds?: readonly string[]): Promise<DeviceLocation[]> {
    return this.#devicePages.locations(scope, deviceIds);
  }

  async rotateDevice(scope: Scope, id: string): Promise<CreatedDevice | undefined> {
    return this.#devices.rotate(scope, id);
  }

  async revokeDevice(scope: Scope, id: string): Promise<Device | undefined> {
    return this.#devices.revoke(scope, id);
  }

  // Commands

  async sendCommand(caller: Caller, deviceId: string, input: NewCommand): Promise<Command | undefined> {
    const device = await this.#devices.get(caller.scope, deviceId);
    if (!device) return undefined;
    if (device.revokedAt !== null) throw new TestbedError('TESTBED_CONFLICT', 'The device is revoked; it can no longer connect to receive commands');
    return this.#commands.create(device, input, caller.keyId);
  }

  async listCommands(scope: Scope, deviceId: string, filter: CommandFilter = {}): Promise<Command[]> {
    return this.#commands.list(scope, deviceId, filter);
  }

  async getCommand(scope: Scope, deviceId: string, commandId: string): Promise<Command | undefined> {
    return this.#commands.get(scope, deviceId, commandId);
  }

  // Configuration

  async getDeviceConfig(scope: Scope, deviceId: string): Promise<DeviceConfig | undefined> {
    return (await this.#devices.get(scope, deviceId)) && (await this.#config.get(deviceId));
  }

  async setDesiredConfig(caller: Caller, deviceId: string, config: ConfigDocument): Promise<DeviceConfig | undefined> {
    const device = await this.#devices.get(caller.scope, deviceId);
    if (!device) return undefined;
    if (device.revokedAt !== null) throw new TestbedError('TESTBED_CONFLICT', 'The device is revoked; it can no longer connect to receive its configuration');
    return this.#config.setDesired(device.id, config, caller.keyId);
  }

  // API keys

  async createKey(creator: Caller, wanted: KeyGrant, name: string | null): Promise<CreatedKey> {
    const problems = grantProblems(wanted);
    if (problems.length > 0) throw new TestbedError('TESTBED_BAD_REQUEST', `Invalid key: ${problems.join('; ')}`);
    const refused = refuseGrant(creator.grant, wanted);
    if (refused) throw new TestbedError('TESTBED_FORBIDDEN', refused);
    if (wanted.companyId !== null && !(await this.#companies.get(creator.scope, wanted.companyId))) {
      throw new TestbedError('TESTBED_NOT_FOUND', 'No company with this id');
    }
    await this.#refuseOverKeyLimit(creator, wanted);
    return this.#keys.create({ ...wanted, name, createdBy: createdBy(creator) });
  }

  /**
   * A leaked key cannot multiply itself: a company has at most `maxLiveKeys`
   * live keys, and a key (other than the admin's) at most that many live keys
   * minted under it, whoever minted them.
   */
  async #refuseOverKeyLimit(creator: Caller, wanted: KeyGrant): Promise<void> {
    const max = this.#maxLiveKeys;
    if (wanted.companyId !== null && (await this.#keys.liveOfCompany(wanted.companyId)) >= max) {
      throw new TestbedError('TESTBED_KEY_LIMIT', `This company has ${max} live keys, the most it may; revoke one first`, { limit: max });
    }
    if (creator.role !== 'admin' && (await this.#keys.liveMintedBy(creator.keyId)) >= max) {
      throw new TestbedError('TESTBED_KEY_LIMIT', `This key has ${max} live keys minted under it, the most it may; revoke one first`, { limit: max });
    }
  }

  async listKeys(holder: KeyGrant): Promise<ApiKey[]> {
    return this.#keys.list(holder);
  }

  async revokeKey(holder: KeyGrant, id: string): Promise<ApiKey | undefined> {
    return this.#keys.revoke(holder, id);
  }

  // Device health and alerts: reads in the caller's scope

  async getDeviceHealth(scope: Scope, deviceId: string): Promise<HealthRecord | undefined> {
    return this.#health.get(scope, deviceId);
  }

  async listFleet(scope: Scope, filter: FleetFilter): Promise<FleetRow[]> {
    // The page comes from the fleet query; each device is then read as this scope may see it
    // (its location exact or on the pilot's grid), by an indexed point read.
    const rows: FleetRow[] = [];
    for (const row of await this.#fleet.list(scope, filter)) {
      const device = await this.#devices.get(scope, row.device.id);
      if (device) rows.push({ ...row, device });
    }
    return rows;
  }

  async fleetCounts(scope: Scope, testbedId: string): Promise<FleetCounts> {
    return this.#fleet.counts(scope, testbedId);
  }

  async listDeviceEvents(scope: Scope, deviceId: string, range: { from: number; to: number; limit: number }): Promise<DeviceEvent[] | undefined> {
    if (!(await this.#devices.get(scope, deviceId))) return undefined;
    return this.#health.events(scope, deviceId, range.from, range.to, range.limit);
  }

  async createAlertRule(scope: Scope, input: Omit<NewAlertRule, 'companyId'>): Promise<AlertRule> {
    if (input.pilotId !== undefined) {
      const pilot = await this.#pilot(scope, input.pilotId);
      if (GATEWAY_CONDITIONS.has(input.condition))
        throw new TestbedError('TESTBED_BAD_REQUEST', `${input.condition} is about the gateway: give a testbedId, not a pilotId`);
      // A company's rule is the company's (and its operators see it); an operator's stays the operator's.
      const companyId = scope.kind === 'company' ? pilot.companyId : undefined;
      return this.#alerts.createRule({ ...input, testbedId: pilot.testbedId, companyId });
    }
    if (scope.kind !== 'all' && !(scope.kind === 'testbeds' && scope.testbedIds.includes(input.testbedId))) {
      throw new TestbedError('TESTBED_FORBIDDEN', 'A rule on a whole testbed is for the operators of that testbed; a company gives one of its pilots');
    }
    if (!(await this.getTestbed(input.testbedId))) throw new TestbedError('TESTBED_NOT_FOUND', `No testbed ${input.testbedId}`);
    return this.#alerts.createRule(input);
  }

  async listAlertRules(scope: Scope): Promise<AlertRule[]> {
    return this.#alerts.listRules(scope);
  }

  async deleteAlertRule(scope: Scope, id: string): Promise<AlertRule | undefined> {
    return this.#alerts.deleteRule(scope, id);
  }

  async listAlerts(scope: Scope, state: 'open' | 'resolved' | undefined, limit: number): Promise<Alert[]> {
    return this.#alerts.list(scope, state, limit);
  }

  // The health stage's door (HealthLedger): system writes, as the gateway's credential check is.

  async reportedIntervals(): Promise<Map<string, number>> {
    return this.#config.reportedIntervals();
  }

  async setHealthContract(deviceId: string, lateMs: number, silentMs: number): Promise<void> {
    await this.#health.setContract(deviceId, lateMs, silentMs);
  }

  lastReadingTimes(): Promise<Map<string, number>> {
    return this.#health.lastReadingTimes();
  }

  async resetOnline(): Promise<void> {
    await this.#health.resetOnline();
  }

  async placementOf(deviceId: string): Promise<Placement | undefined> {
    const d = await this.#devices.get({ kind: 'all' }, deviceId);
    return d && { companyId: d.companyId, testbedId: d.testbedId, pilotId: d.pilotId };
  }

  async recordActivity(updates: readonly ActivityUpdate[]): Promise<StatusChange[]> {
    return this.#health.recordActivity(updates);
  }

  async recordConnections(updates: readonly ConnectionUpdate[]): Promise<void> {
    await this.#health.recordConnections(updates);
  }

  async recordDeviceEvent(deviceId: string, at: number, event: Omit<DeviceEvent, 'time'>): Promise<void> {
    await this.#health.recordEvent(deviceId, at, event);
  }

  async evaluateStatuses(now: number): Promise<StatusChange[]> {
    return this.#health.evaluate(now);
  }

  async allAlertRules(): Promise<AlertRule[]> {
    return this.#alerts.allRules();
  }

  async openAlerts(): Promise<(Alert & { companyId: string | null })[]> {
    return this.#alerts.openAlerts();
  }

  async openAlert(alert: NewAlert): Promise<Alert> {
    return this.#alerts.open(alert);
  }

  async resolveAlert(id: string, at: number): Promise<Alert | undefined> {
    return this.#alerts.resolve(id, at);
  }

  // Audit log

  async recordAudit(caller: Caller, entry: AuditRecord): Promise<void> {
    // The log is of what keys did; anonymous reads of open data are not recorded.
    if (caller.role === 'anonymous') return;
    await this.#audit.record({ ...entry, keyId: caller.keyId, role: caller.role });
  }

  async listAudit(scope: Scope, query: AuditQuery): Promise<AuditEntry[]> {
    return this.#audit.list(scope, query);
  }

  /** Researchers and anonymous callers see some pilots but change none: refused after the object was found, as the API does. */
  #mayChange(scope: Scope): void {
    const refused = refuseChange(scope);
    if (refused) throw new TestbedError('TESTBED_FORBIDDEN', refused);
  }

  // Webhooks

  async createWebhook(creator: Caller, input: NewWebhook): Promise<CreatedWebhook> {
    const place = await this.#webhookPlace(creator, input);
    return this.#webhooks.create({ url: input.url, events: input.events, ...place, createdBy: createdBy(creator) });
  }

  async getWebhook(scope: Scope, id: string): Promise<Webhook | undefined> {
    return this.#webhooks.get(scope, id);
  }

  async listWebhooks(scope: Scope): Promise<Webhook[]> {
    return this.#webhooks.list(scope);
  }

  async deleteWebhook(scope: Scope, id: string): Promise<Webhook | undefined> {
    return this.#webhooks.delete(scope, id);
  }

  async listWebhookDeliveries(scope: Scope, id: string, limit: number): Promise<WebhookDelivery[] | undefined> {
    return this.#webhooks.deliveries(scope, id, limit);
  }

  /** Where a new webhook sits: where its target sits, or the creator's whole scope. */
  async #webhookPlace(creator: Caller, input: NewWebhook): Promise<{ companyId: string | null; testbedId: string | null; pilotId: string | null }> {
    if (input.pilotId !== undefined) {
      const pilot = await this.#pilot(creator.scope, input.pilotId);
      return { companyId: pilot.companyId, testbedId: pilot.testbedId, pilotId: pilot.id };
    }
    const { scope } = creator;
    if (input.testbedId !== undefined) {
      if (scope.kind !== 'all' && !(scope.kind === 'testbeds' && scope.testbedIds.includes(input.testbedId))) {
        throw new TestbedError('TESTBED_FORBIDDEN', 'Only the admin and the operators of a testbed may watch a whole testbed; give pilotId instead');
      }
      if (!(await this.getTestbed(input.testbedId))) throw new TestbedError('TESTBED_NOT_FOUND', `No testbed ${input.testbedId}`);
      return { companyId: null, testbedId: input.testbedId, pilotId: null };
    }
    if (scope.kind === 'all') return { companyId: null, testbedId: null, pilotId: null };
    if (scope.kind === 'company') return { companyId: scope.companyId, testbedId: null, pilotId: null };
    throw new TestbedError('TESTBED_BAD_REQUEST', 'Give the testbedId or pilotId this webhook watches');
  }

  async #pilot(scope: Scope, id: string): Promise<Pilot> {
    const pilot = await this.#pilots.get(scope, id);
    if (!pilot) throw new TestbedError('TESTBED_NOT_FOUND', `No pilot ${id}`);
    return pilot;
  }

  #adminCaller(): Caller {
    return { keyId: ADMIN_KEY_ID, role: 'admin', scope: { kind: 'all' }, readOnly: false, grant: ADMIN_GRANT };
  }

  async #callerOf(holder: KeyHolder): Promise<Caller> {
    // Only a researcher's scope depends on which pilots are shared now.
    const shared = holder.grant.role === 'researcher' ? await this.#pilots.sharedPilotIds(holder.grant.testbedIds) : [];
    const scope = scopeOf(holder.grant, () => shared);
    return { keyId: holder.keyId, role: holder.grant.role, scope, readOnly: holder.grant.readOnly, grant: holder.grant };
  }
}

/** The creator a key records: the key that made it, or none when the composition root did. */
const createdBy = (creator: Caller): string | null => (creator.keyId === SETUP_KEY_ID ? null : creator.keyId);
