import type { Database, Statement } from 'better-sqlite3';
import {
  TestbedError,
  type Device,
  type DeviceContext,
  type Pilot,
  type Scope,
  hashSecret,
  newId,
  newSecret,
  verifySecret,
  isSafeTopicSegment,
  isoTime,
} from '../core/index.js';
import { asConflict } from './conflict.js';
import { DEVICE_COLUMNS, ScopedStatements } from './statements.js';

const isoOrNull = (ms: number | null): string | null => (ms === null ? null : isoTime(ms));
const COLUMNS = 'id, pilot_id, company_id, testbed_id, profile, name, username, created_at, secret_rotated_at, revoked_at';

interface DeviceRow {
  id: string;
  pilot_id: string;
  company_id: string;
  testbed_id: string;
  profile: string;
  name: string | null;
  username: string;
  created_at: number;
  secret_rotated_at: number | null;
  revoked_at: number | null;
}
interface DeviceAuthRow extends DeviceRow {
  secret_hash: Buffer;
  starts_at: number | null;
  ends_at: number | null;
  ended_at: number | null;
}

const toDevice = (r: DeviceRow): Device => ({
  id: r.id,
  pilotId: r.pilot_id,
  companyId: r.company_id,
  testbedId: r.testbed_id,
  profile: r.profile,
  name: r.name,
  username: r.username,
  createdAt: isoTime(r.created_at),
  secretRotatedAt: isoOrNull(r.secret_rotated_at),
  revokedAt: isoOrNull(r.revoked_at),
});

export interface NewDevice {
  profile: string;
  name?: string | undefined;
  username?: string | undefined;
}

/**
 * A problem with one device of a registration: its index in the request, the
 * field, and why: `unsafe` (not a safe topic segment), `repeated` (given twice
 * in one request) or `taken` (another device has it: a conflict with the
 * current state rather than a bad request).
 */
export interface DeviceProblem {
  readonly index: number;
  readonly field: 'username';
  readonly reason: 'unsafe' | 'repeated' | 'taken';
  readonly message: string;
}

const USERNAME_RULE = 'may use only letters, digits and _ . : @ - (at most 128)';
const DUMMY_DIGEST = hashSecret('no such device');

/** Devices and their MQTT credentials. Every read and change takes a scope, except the gateway's credential check. */
export class DeviceTable {
  readonly #db: Database;
  readonly #now: () => number;
  readonly #scoped: ScopedStatements;
  readonly #auth: Statement;
  readonly #insert: Statement;
  readonly #taken: Statement;
  readonly #rotate: Statement;
  readonly #revoke: Statement;

  constructor(db: Database, now: () => number) {
    this.#db = db;
    this.#now = now;
    this.#scoped = new ScopedStatements(db);
    this.#auth = db.prepare(`SELECT d.*, p.starts_at, p.ends_at, p.ended_at FROM devices d JOIN pilots p ON p.id = d.pilot_id WHERE d.username = ?`);
    this.#insert = db.prepare(
      'INSERT INTO devices (id, pilot_id, company_id, testbed_id, profile, name, username, secret_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.#taken = db.prepare('SELECT 1 FROM devices WHERE username = ?');
    this.#rotate = db.prepare('UPDATE devices SET secret_hash = ?, secret_rotated_at = ? WHERE id = ?');
    this.#revoke = db.prepare('UPDATE devices SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL');
  }

  /** Registers one device in `pilot` (already found in the caller's scope); its password is returned once. */
  create(pilot: Pilot, input: NewDevice): { device: Device; password: string } {
    const [problem] = this.check([input]);
    if (problem) {
      throw problem.reason === 'taken'
        ? new TestbedError('TESTBED_CONFLICT', `The username ${input.username ?? ''} is taken`)
        : new TestbedError('TESTBED_BAD_REQUEST', `username ${USERNAME_RULE}`);
    }
    return this.#insertOne(pilot, input);
  }

  /** The problems of a list of new devices: unsafe usernames, and usernames taken or given twice. */
  check(inputs: readonly NewDevice[]): DeviceProblem[] {
    const problems: DeviceProblem[] = [];
    const seen = new Set<string>();
    inputs.forEach((input, index) => {
      const username = input.username;
      if (username === undefined) return;
      if (!isSafeTopicSegment(username)) problems.push({ index, field: 'username', reason: 'unsafe', message: USERNAME_RULE });
      else if (seen.has(username)) problems.push({ index, field: 'username', reason: 'repeated', message: `${username} is given twice in this request` });
      else if (this.#taken.get(username)) problems.push({ index, field: 'username', reason: 'taken', message: `${username} is taken` });
      seen.add(username);
    });
    return problems;
  }

  /** Registers devices all or nothing, in one transaction; throws when `check` finds a problem. */
  createMany(pilot: Pilot, inputs: readonly NewDevice[]): { device: Device; password: string }[] {
    return this.#db.transaction(() => {
      const problems = this.check(inputs);
      if (problems.length > 0) throw new TestbedError('TESTBED_BAD_REQUEST', 'No device was registered: fix each problem listed', problems);
      return inputs.map((input) => this.#insertOne(pilot, input));
    })();
  }

  get(scope: Scope, id: string): Device | undefined {
    const { stmt, scopeParams } = this.#scoped.get('get', scope, DEVICE_COLUMNS, (where) => `SELECT ${COLUMNS} FROM devices WHERE id = ? AND (${where})`);
    const row = stmt.get(id, ...scopeParams) as DeviceRow | undefined;
    return row && toDevice(row);
  }

  /** The devices of a pilot that the scope may see, oldest first. */
  list(scope: Scope, pilotId: string): Device[] {
    const { stmt, scopeParams } = this.#scoped.get(
      'list',
      scope,
      DEVICE_COLUMNS,
      (where) => `SELECT ${COLUMNS} FROM devices WHERE pilot_id = ? AND (${where}) ORDER BY created_at, id`,
    );
    return (stmt.all(pilotId, ...scopeParams) as DeviceRow[]).map(toDevice);
  }

  /** Gives a device a new secret; the old one stops working at once. Refused (409) for a revoked device. */
  rotate(scope: Scope, id: string): { device: Device; password: string } | undefined {
    const device = this.get(scope, id);
    if (!device) return undefined;
    if (device.revokedAt !== null) throw new TestbedError('TESTBED_CONFLICT', 'The device is revoked; register a new one instead');
    const password = newSecret();
    const at = this.#now();
    this.#rotate.run(hashSecret(password), at, id);
    return { device: { ...device, secretRotatedAt: isoTime(at) }, password };
  }

  /** Revokes a device: it can never connect again. Revoking twice keeps the first time. */
  revoke(scope: Scope, id: string): Device | undefined {
    if (!this.get(scope, id)) return undefined;
    this.#revoke.run(this.#now(), id);
    return this.get(scope, id);
  }

  /**
   * Checks MQTT credentials. Undefined when the username is unknown, the password
   * wrong or the device revoked (the caller cannot tell which). An ended pilot's
   * end time is the earlier of its planned end and when it was ended.
   */
  authenticate(username: string, password: Buffer): DeviceContext | undefined {
    const row = this.#auth.get(username) as DeviceAuthRow | undefined;
    if (!row) {
      verifySecret(password, DUMMY_DIGEST); // same work whether or not the username exists
      return undefined;
    }
    if (!verifySecret(password, row.secret_hash) || row.revoked_at !== null) return undefined;
    const ends = row.ended_at === null ? row.ends_at : row.ends_at === null ? row.ended_at : Math.min(row.ends_at, row.ended_at);
    return {
      deviceId: row.id,
      pilotId: row.pilot_id,
      companyId: row.company_id,
      testbedId: row.testbed_id,
      profile: row.profile,
      pilotStartsAt: row.starts_at,
      pilotEndsAt: ends,
    };
  }

  #insertOne(pilot: Pilot, input: NewDevice): { device: Device; password: string } {
    const id = newId('dev');
    const password = newSecret();
    const row: DeviceRow = {
      id,
      pilot_id: pilot.id,
      company_id: pilot.companyId,
      testbed_id: pilot.testbedId,
      profile: input.profile,
      name: input.name ?? null,
      username: input.username ?? id,
      created_at: this.#now(),
      secret_rotated_at: null,
      revoked_at: null,
    };
    try {
      this.#insert.run(row.id, row.pilot_id, row.company_id, row.testbed_id, row.profile, row.name, row.username, hashSecret(password), row.created_at);
    } catch (err) {
      // `check` ran first; only another process on the same registry can get here.
      throw asConflict(err, `The username ${row.username} is taken`);
    }
    return { device: toDevice(row), password };
  }
}
