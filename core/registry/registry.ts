import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3, { type Database, type Statement } from 'better-sqlite3';
import { TestbedError } from '../errors.js';
import type { ApiKey, Caller, Company, Device, DeviceContext, Pilot, Scope, Testbed } from '../model.js';
import { hashSecret, newId, newSecret, verifySecret } from '../secrets.js';
import { isSafeTopicSegment } from '../topics.js';
import { migrate } from './migrations.js';

const iso = (ms: number): string => new Date(ms).toISOString();
const isoOrNull = (ms: number | null): string | null => (ms === null ? null : iso(ms));

interface PilotRow { id: string; company_id: string; testbed_id: string; name: string; starts_at: number | null; ends_at: number | null; created_at: number }
interface DeviceRow { id: string; pilot_id: string; company_id: string; testbed_id: string; profile: string; name: string | null; username: string; created_at: number }
interface DeviceAuthRow extends DeviceRow { secret_hash: Buffer; starts_at: number | null; ends_at: number | null }
interface KeyRow { id: string; secret_hash: Buffer; role: 'admin' | 'company'; company_id: string | null; name: string | null; created_at: number; revoked_at: number | null }

const toPilot = (r: PilotRow): Pilot => ({
  id: r.id, companyId: r.company_id, testbedId: r.testbed_id, name: r.name,
  startsAt: isoOrNull(r.starts_at), endsAt: isoOrNull(r.ends_at), createdAt: iso(r.created_at),
});
const toDevice = (r: DeviceRow): Device => ({
  id: r.id, pilotId: r.pilot_id, companyId: r.company_id, testbedId: r.testbed_id, profile: r.profile,
  name: r.name, username: r.username, createdAt: iso(r.created_at),
});

/** The company a scope is limited to, or null for an unrestricted scope (bound into SQL). */
const scopeCompany = (scope: Scope): string | null => (scope.kind === 'company' ? scope.companyId : null);

export interface NewPilot { companyId: string; testbedId: string; name: string; startsAt?: number | undefined; endsAt?: number | undefined }
export interface NewDevice { profile: string; name?: string | undefined; username?: string | undefined }

/**
 * Testbeds, companies, pilots, devices and API keys, in an embedded SQLite
 * database. Lookups are indexed point reads (microseconds), so the gateway may
 * call them at CONNECT; every read of tenant data takes a Scope.
 */
export class Registry {
  readonly #db: Database;
  readonly #adminDigest: Buffer | undefined;
  readonly #stmts: Record<string, Statement>;

  private constructor(db: Database, adminToken: string | undefined) {
    this.#db = db;
    this.#adminDigest = adminToken === undefined ? undefined : hashSecret(adminToken);
    this.#stmts = {
      testbeds: db.prepare('SELECT id, name, city FROM testbeds ORDER BY rowid'),
      testbed: db.prepare('SELECT id, name, city FROM testbeds WHERE id = ?'),
      company: db.prepare('SELECT id, name, created_at FROM companies WHERE id = ? AND (? IS NULL OR id = ?)'),
      insertCompany: db.prepare('INSERT INTO companies (id, name, created_at) VALUES (?, ?, ?)'),
      pilot: db.prepare('SELECT * FROM pilots WHERE id = ? AND (? IS NULL OR company_id = ?)'),
      insertPilot: db.prepare('INSERT INTO pilots (id, company_id, testbed_id, name, starts_at, ends_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      device: db.prepare('SELECT id, pilot_id, company_id, testbed_id, profile, name, username, created_at FROM devices WHERE id = ? AND (? IS NULL OR company_id = ?)'),
      deviceAuth: db.prepare(`SELECT d.*, p.starts_at, p.ends_at FROM devices d JOIN pilots p ON p.id = d.pilot_id WHERE d.username = ?`),
      insertDevice: db.prepare('INSERT INTO devices (id, pilot_id, company_id, testbed_id, profile, name, username, secret_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)'),
      usernameTaken: db.prepare('SELECT 1 FROM devices WHERE username = ?'),
      key: db.prepare('SELECT * FROM api_keys WHERE id = ?'),
      insertKey: db.prepare('INSERT INTO api_keys (id, secret_hash, role, company_id, name, created_at) VALUES (?, ?, ?, ?, ?, ?)'),
    };
  }

  /** Opens (creating and migrating as needed) `registry.db` in the data folder. */
  static open(dataDir: string, adminToken: string | undefined): Registry {
    fs.mkdirSync(dataDir, { recursive: true });
    const db = new BetterSqlite3(path.join(dataDir, 'registry.db'));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    migrate(db);
    return new Registry(db, adminToken);
  }

  close(): void {
    this.#db.close();
  }

  listTestbeds(): Testbed[] {
    return this.#stmts.testbeds!.all() as Testbed[];
  }

  getTestbed(id: string): Testbed | undefined {
    return this.#stmts.testbed!.get(id) as Testbed | undefined;
  }

  createCompany(name: string): Company {
    const company = { id: newId('co'), name, createdAt: Date.now() };
    this.#stmts.insertCompany!.run(company.id, company.name, company.createdAt);
    return { ...company, createdAt: iso(company.createdAt) };
  }

  getCompany(scope: Scope, id: string): Company | undefined {
    const c = scopeCompany(scope);
    const row = this.#stmts.company!.get(id, c, c) as { id: string; name: string; created_at: number } | undefined;
    return row && { id: row.id, name: row.name, createdAt: iso(row.created_at) };
  }

  /** Creates an API key for a company. The key is returned once and stored only as a digest. */
  createCompanyKey(companyId: string, name?: string): { key: string; apiKey: ApiKey } {
    if (!this.getCompany({ kind: 'all' }, companyId)) throw new TestbedError('TESTBED_NOT_FOUND', `No company ${companyId}`);
    const id = newId('key');
    const secret = newSecret();
    const createdAt = Date.now();
    this.#stmts.insertKey!.run(id, hashSecret(secret), 'company', companyId, name ?? null, createdAt);
    return {
      key: `${id}.${secret}`,
      apiKey: { id, role: 'company', companyId, name: name ?? null, createdAt: iso(createdAt) },
    };
  }

  createPilot(input: NewPilot): Pilot {
    if (!this.getCompany({ kind: 'all' }, input.companyId)) throw new TestbedError('TESTBED_NOT_FOUND', `No company ${input.companyId}`);
    if (!this.getTestbed(input.testbedId)) throw new TestbedError('TESTBED_NOT_FOUND', `No testbed ${input.testbedId}`);
    if (input.startsAt !== undefined && input.endsAt !== undefined && input.startsAt >= input.endsAt) {
      throw new TestbedError('TESTBED_BAD_REQUEST', 'endsAt must be later than startsAt');
    }
    const row: PilotRow = {
      id: newId('pi'), company_id: input.companyId, testbed_id: input.testbedId, name: input.name,
      starts_at: input.startsAt ?? null, ends_at: input.endsAt ?? null, created_at: Date.now(),
    };
    this.#stmts.insertPilot!.run(row.id, row.company_id, row.testbed_id, row.name, row.starts_at, row.ends_at, row.created_at);
    return toPilot(row);
  }

  getPilot(scope: Scope, id: string): Pilot | undefined {
    const c = scopeCompany(scope);
    const row = this.#stmts.pilot!.get(id, c, c) as PilotRow | undefined;
    return row && toPilot(row);
  }

  /**
   * Registers a device in a pilot the scope can see. Returns the device and its
   * MQTT password, which is shown once and stored only as a digest.
   */
  createDevice(scope: Scope, pilotId: string, input: NewDevice): { device: Device; password: string } {
    const pilot = this.getPilot(scope, pilotId);
    if (!pilot) throw new TestbedError('TESTBED_NOT_FOUND', `No pilot ${pilotId}`);
    const id = newId('dev');
    const username = input.username ?? id;
    if (!isSafeTopicSegment(username)) {
      throw new TestbedError('TESTBED_BAD_REQUEST', 'username may use only letters, digits and _ . : @ - (at most 128)');
    }
    if (this.#stmts.usernameTaken!.get(username)) throw new TestbedError('TESTBED_CONFLICT', `The username ${username} is taken`);
    const password = newSecret();
    const row: DeviceRow = {
      id, pilot_id: pilot.id, company_id: pilot.companyId, testbed_id: pilot.testbedId, profile: input.profile,
      name: input.name ?? null, username, created_at: Date.now(),
    };
    this.#stmts.insertDevice!.run(row.id, row.pilot_id, row.company_id, row.testbed_id, row.profile, row.name, row.username, hashSecret(password), row.created_at);
    return { device: toDevice(row), password };
  }

  getDevice(scope: Scope, id: string): Device | undefined {
    const c = scopeCompany(scope);
    const row = this.#stmts.device!.get(id, c, c) as DeviceRow | undefined;
    return row && toDevice(row);
  }

  /**
   * Checks MQTT credentials. Returns the device's context, or undefined when the
   * username is unknown or the password wrong (the caller cannot tell which).
   */
  authenticateDevice(username: string, password: Buffer): DeviceContext | undefined {
    const row = this.#stmts.deviceAuth!.get(username) as DeviceAuthRow | undefined;
    if (!row) {
      verifySecret(password, DUMMY_DIGEST); // same work whether or not the username exists
      return undefined;
    }
    if (!verifySecret(password, row.secret_hash)) return undefined;
    return {
      deviceId: row.id, pilotId: row.pilot_id, companyId: row.company_id, testbedId: row.testbed_id,
      profile: row.profile, pilotStartsAt: row.starts_at, pilotEndsAt: row.ends_at,
    };
  }

  /** Resolves a bearer key to its caller, or undefined when it is unknown, wrong or revoked. */
  authenticateKey(presented: string): Caller | undefined {
    if (this.#adminDigest && verifySecret(presented, this.#adminDigest)) {
      return { keyId: 'admin', role: 'admin', scope: { kind: 'all' } };
    }
    const dot = presented.indexOf('.');
    if (dot <= 0) return undefined;
    const row = this.#stmts.key!.get(presented.slice(0, dot)) as KeyRow | undefined;
    if (!row || row.revoked_at !== null) return undefined;
    if (!verifySecret(presented.slice(dot + 1), row.secret_hash)) return undefined;
    if (row.role === 'admin') return { keyId: row.id, role: 'admin', scope: { kind: 'all' } };
    return { keyId: row.id, role: 'company', scope: { kind: 'company', companyId: row.company_id as string } };
  }
}

const DUMMY_DIGEST = hashSecret('no such device');
