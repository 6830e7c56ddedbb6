import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3, { type Database, type Statement } from 'better-sqlite3';
import {
  TestbedError,
  unhandled,
  type ApiKey,
  type Caller,
  type Company,
  type Device,
  type DeviceContext,
  type KeyGrant,
  type Pilot,
  type Scope,
  type Testbed,
  hashSecret,
  newId,
  verifySecret,
} from '../core/index.js';
import { AuditLog } from './audit.js';
import { DeviceTable, type NewDevice } from './devices.js';
import { scopeOf } from './key-policy.js';
import { KeyTable, type KeyHolder } from './keys.js';
import { migrate } from './migrations.js';
import { PilotTable, type NewPilot } from './pilots.js';

export type { NewDevice } from './devices.js';
export type { NewPilot } from './pilots.js';

const iso = (ms: number): string => new Date(ms).toISOString();

/** The grant of the configured admin token, which has no row of its own. */
const ADMIN_GRANT: KeyGrant = { role: 'admin', companyId: null, testbedIds: null, readOnly: false, expiresAt: null };
export const ADMIN_KEY_ID = 'admin';

export interface RegistryOptions {
  /** The clock (epoch ms) for created, revoked, ended and expiry times; tests move it. */
  readonly now?: () => number;
}

interface CompanyRow {
  id: string;
  name: string;
  created_at: number;
}
const toCompany = (r: CompanyRow): Company => ({ id: r.id, name: r.name, createdAt: iso(r.created_at) });

/**
 * Testbeds, companies, pilots, devices, API keys and the audit log, in an
 * embedded SQLite database. Lookups are indexed point reads (microseconds), so
 * the gateway may call them at CONNECT; every read of tenant data takes a Scope.
 *
 * The tables live in their own classes (`keys`, `pilots`, `devices`, `audit`);
 * the methods here are the common paths and the checks that span tables.
 */
export class Registry {
  readonly keys: KeyTable;
  readonly pilots: PilotTable;
  readonly devices: DeviceTable;
  readonly audit: AuditLog;
  readonly #db: Database;
  readonly #now: () => number;
  readonly #adminDigest: Buffer | undefined;
  readonly #stmts: Record<'testbeds' | 'testbed' | 'insertCompany' | 'secret' | 'insertSecret', Statement>;
  readonly #companies = new Map<string, Statement>();

  private constructor(db: Database, adminToken: string | undefined, now: () => number) {
    this.#db = db;
    this.#now = now;
    this.#adminDigest = adminToken === undefined ? undefined : hashSecret(adminToken);
    this.keys = new KeyTable(db, now);
    this.pilots = new PilotTable(db, now);
    this.devices = new DeviceTable(db, now);
    this.audit = new AuditLog(db, now);
    this.#stmts = {
      testbeds: db.prepare('SELECT id, name, city FROM testbeds ORDER BY rowid'),
      testbed: db.prepare('SELECT id, name, city FROM testbeds WHERE id = ?'),
      insertCompany: db.prepare('INSERT INTO companies (id, name, created_at) VALUES (?, ?, ?)'),
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

  /** The registry's clock (epoch ms): what expiry and revocation times are compared with. */
  now(): number {
    return this.#now();
  }

  /** The testbeds: the public catalogue, the same for every key. */
  listTestbeds(): Testbed[] {
    return this.#stmts.testbeds.all() as Testbed[];
  }

  getTestbed(id: string): Testbed | undefined {
    return this.#stmts.testbed.get(id) as Testbed | undefined;
  }

  createCompany(name: string): Company {
    const row: CompanyRow = { id: newId('co'), name, created_at: this.#now() };
    this.#stmts.insertCompany.run(row.id, row.name, row.created_at);
    return toCompany(row);
  }

  getCompany(scope: Scope, id: string): Company | undefined {
    const row = this.#companyStatement(scope, true).get(id, ...companyParams(scope)) as CompanyRow | undefined;
    return row && toCompany(row);
  }

  /**
   * The companies the scope may see: all of them; its own; those with a pilot in
   * the operator's testbeds; those with a pilot shared with the researcher.
   */
  listCompanies(scope: Scope): Company[] {
    return (this.#companyStatement(scope, false).all(...companyParams(scope)) as CompanyRow[]).map(toCompany);
  }

  /** Creates a company key outside the key policy (the admin route and the demo). The key is returned once. */
  createCompanyKey(companyId: string, name?: string, createdBy: string | null = null): { key: string; apiKey: ApiKey } {
    if (!this.getCompany({ kind: 'all' }, companyId)) throw new TestbedError('TESTBED_NOT_FOUND', `No company ${companyId}`);
    return this.keys.create({ role: 'company', companyId, testbedIds: null, readOnly: false, expiresAt: null, name: name ?? null, createdBy });
  }

  /** Creates a pilot of a known company in a known testbed (404 otherwise). Who may is the API's policy. */
  createPilot(input: NewPilot): Pilot {
    if (!this.getCompany({ kind: 'all' }, input.companyId)) throw new TestbedError('TESTBED_NOT_FOUND', `No company ${input.companyId}`);
    if (!this.getTestbed(input.testbedId)) throw new TestbedError('TESTBED_NOT_FOUND', `No testbed ${input.testbedId}`);
    return this.pilots.create(input);
  }

  getPilot(scope: Scope, id: string): Pilot | undefined {
    return this.pilots.get(scope, id);
  }

  /**
   * Registers a device in a pilot the scope can see. Returns the device and its
   * MQTT password, which is shown once and stored only as a digest.
   */
  createDevice(scope: Scope, pilotId: string, input: NewDevice): { device: Device; password: string } {
    const pilot = this.pilots.get(scope, pilotId);
    if (!pilot) throw new TestbedError('TESTBED_NOT_FOUND', `No pilot ${pilotId}`);
    return this.devices.create(pilot, input);
  }

  getDevice(scope: Scope, id: string): Device | undefined {
    return this.devices.get(scope, id);
  }

  /** Checks MQTT credentials (see DeviceTable.authenticate). */
  authenticateDevice(username: string, password: Buffer): DeviceContext | undefined {
    return this.devices.authenticate(username, password);
  }

  /**
   * Resolves a bearer key to its caller, or undefined when it is unknown, wrong,
   * revoked or expired. Called once per request, so revocation, expiry and a
   * researcher's shared pilots take effect at the next request.
   */
  authenticateKey(presented: string): Caller | undefined {
    if (this.#adminDigest && verifySecret(presented, this.#adminDigest)) {
      return { keyId: ADMIN_KEY_ID, role: 'admin', scope: { kind: 'all' }, readOnly: false, grant: ADMIN_GRANT };
    }
    const holder = this.keys.authenticate(presented);
    return holder && this.#callerOf(holder);
  }

  /**
   * The caller of a key that authenticated earlier, resolved afresh (undefined
   * once revoked or expired): for requests that outlive the moment they were
   * authenticated, such as live streams.
   */
  recheckKey(keyId: string): Caller | undefined {
    if (keyId === ADMIN_KEY_ID) return this.#adminDigest ? { keyId, role: 'admin', scope: { kind: 'all' }, readOnly: false, grant: ADMIN_GRANT } : undefined;
    const holder = this.keys.active(keyId);
    return holder && this.#callerOf(holder);
  }

  #callerOf(holder: KeyHolder): Caller {
    const scope = scopeOf(holder.grant, (testbedIds) => this.pilots.sharedPilotIds(testbedIds));
    return { keyId: holder.keyId, role: holder.grant.role, scope, readOnly: holder.grant.readOnly, grant: holder.grant };
  }

  /** A named random secret, made on first use and kept in the registry (e.g. the cursor-signing key). */
  secret(name: string): Buffer {
    this.#stmts.insertSecret.run(name, randomBytes(32));
    return (this.#stmts.secret.get(name) as { value: Buffer }).value;
  }

  #companyStatement(scope: Scope, one: boolean): Statement {
    const key = `${scope.kind}:${one}`;
    let stmt = this.#companies.get(key);
    if (!stmt) {
      const byId = one ? 'c.id = ? AND ' : '';
      stmt = this.#db.prepare(`SELECT c.id, c.name, c.created_at FROM companies c WHERE ${byId}${companyCondition(scope)} ORDER BY c.created_at, c.id`);
      this.#companies.set(key, stmt);
    }
    return stmt;
  }
}

/** Which companies a scope sees; the parameters are `companyParams`. */
function companyCondition(scope: Scope): string {
  switch (scope.kind) {
    case 'all':
      return '1';
    case 'company':
      return 'c.id = ?';
    case 'testbeds':
      return 'EXISTS (SELECT 1 FROM pilots p WHERE p.company_id = c.id AND p.testbed_id IN (SELECT value FROM json_each(?)))';
    case 'research':
      return 'EXISTS (SELECT 1 FROM pilots p WHERE p.company_id = c.id AND p.id IN (SELECT value FROM json_each(?)))';
    default:
      return unhandled(scope);
  }
}

function companyParams(scope: Scope): string[] {
  switch (scope.kind) {
    case 'all':
      return [];
    case 'company':
      return [scope.companyId];
    case 'testbeds':
      return [JSON.stringify(scope.testbedIds)];
    case 'research':
      return [JSON.stringify(scope.pilotIds)];
    default:
      return unhandled(scope);
  }
}
