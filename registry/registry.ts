import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3, { type Database, type Statement } from 'better-sqlite3';
import {
  TestbedError,
  type ApiKey,
  type AuditEntry,
  type Caller,
  type Company,
  type Device,
  type DeviceContext,
  type KeyGrant,
  type Pilot,
  type Scope,
  type Testbed,
  type Webhook,
  type WebhookDelivery,
  hashSecret,
  verifySecret,
} from '../core/index.js';
import { AuditLog, type AuditQuery, type AuditRecord } from './audit.js';
import { CompanyTable } from './companies.js';
import { DeviceTable, type DeviceProblem, type NewDevice } from './devices.js';
import { refuseGrant, scopeOf } from './key-policy.js';
import { KeyTable, type KeyHolder } from './keys.js';
import { migrate } from './migrations.js';
import { PilotTable, refusePilotPlace, type NewPilot, type PilotChanges, type PilotFilter } from './pilots.js';
import type { CreatedDevice, CreatedKey, CreatedWebhook, NewWebhook, TestbedRegistry } from './testbed-registry.js';
import { SqliteWebhookOutbox, type WebhookOutbox } from './webhook-outbox.js';
import { WebhookTable } from './webhooks.js';

/** The grant of the configured admin token, which has no row of its own. */
const ADMIN_GRANT: KeyGrant = { role: 'admin', companyId: null, testbedIds: null, readOnly: false, expiresAt: null };
const ADMIN_KEY_ID = 'admin';
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
}

/**
 * Testbeds, companies, pilots, devices, API keys and the audit log, in an
 * embedded SQLite database. Lookups are indexed point reads (microseconds), so
 * the gateway may call them at CONNECT.
 *
 * The tables are private; `TestbedRegistry` is the door, and every read of
 * tenant data through it takes a scope. Beyond it, only the composition root's
 * own needs: opening and closing, and the gateway's credential check.
 */
export class Registry implements TestbedRegistry {
  readonly #db: Database;
  readonly #now: () => number;
  readonly #adminDigest: Buffer | undefined;
  readonly #companies: CompanyTable;
  readonly #pilots: PilotTable;
  readonly #devices: DeviceTable;
  readonly #keys: KeyTable;
  readonly #audit: AuditLog;
  readonly #webhooks: WebhookTable;
  /** The webhook dispatcher's queue (the composition root's, not the API's). */
  readonly webhookOutbox: WebhookOutbox;
  readonly #stmts: Record<'testbeds' | 'testbed' | 'secret' | 'insertSecret', Statement>;

  private constructor(db: Database, adminToken: string | undefined, now: () => number) {
    this.#db = db;
    this.#now = now;
    this.#adminDigest = adminToken === undefined ? undefined : hashSecret(adminToken);
    this.#companies = new CompanyTable(db, now);
    this.#pilots = new PilotTable(db, now);
    this.#devices = new DeviceTable(db, now);
    this.#keys = new KeyTable(db, now);
    this.#audit = new AuditLog(db, now);
    this.#webhooks = new WebhookTable(db, now);
    this.webhookOutbox = new SqliteWebhookOutbox(db);
    this.#stmts = {
      testbeds: db.prepare('SELECT id, name, city FROM testbeds ORDER BY rowid'),
      testbed: db.prepare('SELECT id, name, city FROM testbeds WHERE id = ?'),
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
    return new Registry(db, adminToken, options.now ?? Date.now);
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

  recheckKey(keyId: string): Caller | undefined {
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
    return this.#pilots.end(scope, id);
  }

  // Devices

  createDevice(scope: Scope, pilotId: string, input: NewDevice): CreatedDevice {
    return this.#devices.create(this.#pilot(scope, pilotId), input);
  }

  checkNewDevices(scope: Scope, pilotId: string, inputs: readonly NewDevice[]): DeviceProblem[] {
    this.#pilot(scope, pilotId);
    return this.#devices.check(inputs);
  }

  createDevices(scope: Scope, pilotId: string, inputs: readonly NewDevice[]): CreatedDevice[] {
    return this.#devices.createMany(this.#pilot(scope, pilotId), inputs);
  }

  getDevice(scope: Scope, id: string): Device | undefined {
    return this.#devices.get(scope, id);
  }

  listDevices(scope: Scope, pilotId: string): Device[] {
    return this.#devices.list(scope, pilotId);
  }

  rotateDevice(scope: Scope, id: string): CreatedDevice | undefined {
    return this.#devices.rotate(scope, id);
  }

  revokeDevice(scope: Scope, id: string): Device | undefined {
    return this.#devices.revoke(scope, id);
  }

  // API keys

  createKey(creator: Caller, wanted: KeyGrant, name: string | null): CreatedKey {
    const refused = refuseGrant(creator.grant, wanted);
    if (refused) throw new TestbedError('TESTBED_FORBIDDEN', refused);
    if (wanted.companyId !== null && !this.#companies.get(creator.scope, wanted.companyId)) {
      throw new TestbedError('TESTBED_NOT_FOUND', 'No company with this id');
    }
    return this.#keys.create({ ...wanted, name, createdBy: createdBy(creator) });
  }

  listKeys(holder: KeyGrant): ApiKey[] {
    return this.#keys.list(holder);
  }

  revokeKey(holder: KeyGrant, id: string): ApiKey | undefined {
    return this.#keys.revoke(holder, id);
  }

  // Audit log

  recordAudit(caller: Caller, entry: AuditRecord): void {
    this.#audit.record({ ...entry, keyId: caller.keyId, role: caller.role });
  }

  listAudit(scope: Scope, query: AuditQuery): AuditEntry[] {
    return this.#audit.list(scope, query);
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
