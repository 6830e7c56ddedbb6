import type { Database, Statement } from './sql/database.js';
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
  USERNAME_UNAVAILABLE,
  inBbox,
  type BBox,
  type DeviceLocation,
  type Point,
  isoTime,
} from '../core/index.js';
import { asConflict } from './conflict.js';
import { columnsOf, LocationHistory, pointOf, precisionFor, published, samePoint, type LocationColumns } from './device-locations.js';
import { refuseChange } from './pilots.js';
import { ScopedStatements } from './statements.js';

const isoOrNull = (ms: number | null): string | null => (ms === null ? null : isoTime(ms));
const COLUMNS = ['id', 'pilot_id', 'company_id', 'testbed_id', 'profile', 'name', 'username', 'created_at', 'secret_rotated_at', 'revoked_at']
  .concat(['lon', 'lat', 'alt', 'placement', 'installed_at', 'removed_at'])
  .map((c) => `d.${c}`)
  .join(', ');
/** The device columns with the pilot's location precision; `d` and `p` for the scope conditions. */
export const SELECT = `SELECT ${COLUMNS}, p.location_precision_m AS precision FROM devices d JOIN pilots p ON p.id = d.pilot_id`;
export const QUALIFIED = { company: 'd.company_id', testbed: 'd.testbed_id', pilot: 'd.pilot_id' };

interface DeviceRow extends LocationColumns {
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
  placement: string | null;
  installed_at: number | null;
  removed_at: number | null;
}
/** A device row with its pilot's location precision, for publishing its location. */
export interface ReadRow extends DeviceRow {
  precision: number | null;
}
/** What a credential check reads: the device's context, its secret's digest and its pilot's dates. */
interface DeviceAuthRow extends Pick<DeviceRow, 'id' | 'pilot_id' | 'company_id' | 'testbed_id' | 'profile' | 'name' | 'username' | 'revoked_at'> {
  secret_hash: Buffer;
  starts_at: number | null;
  ends_at: number | null;
  ended_at: number | null;
}

/**
 * Most usernames one credential query looks up. Checks that arrive together
 * (a connect storm: thousands of CONNECTs at once after a power cut) share a
 * query rather than making one each: on SQLite a statement's fixed cost is
 * most of a lookup, on PostgreSQL each is a round trip.
 */
export const CREDENTIAL_BATCH = 500;

interface CredentialWaiter {
  resolve(row: DeviceAuthRow | undefined): void;
  reject(err: unknown): void;
}

/** The device as this reader may see it: exact, or on the pilot's grid (`precision`, already chosen for the scope). */
export const toDevice = (r: DeviceRow, precision: number | null): Device => ({
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
  location: published(pointOf(r), precision),
  locationPrecisionMeters: pointOf(r) === null ? null : precision,
  placement: r.placement,
  installedAt: isoOrNull(r.installed_at),
  removedAt: isoOrNull(r.removed_at),
});

/** Where a device stands and since when it is in the field: given at registration or changed later. */
export interface DeviceFieldData {
  location?: Point | null | undefined;
  placement?: string | null | undefined;
  installedAt?: number | null | undefined;
  removedAt?: number | null | undefined;
}

export interface NewDevice extends DeviceFieldData {
  profile: string;
  name?: string | undefined;
  username?: string | undefined;
}

/** What a device update may change; `null` clears. A location change starts a new stretch of its history. */
export interface DeviceChanges extends DeviceFieldData {
  name?: string | null | undefined;
}

/** Which devices of a listing: those whose location (as the reader sees it) lies in the box. */
export interface DeviceFilter {
  readonly bbox?: BBox | undefined;
}

function checkField(f: DeviceFieldData | DeviceRow): void {
  const installed = 'installed_at' in f ? f.installed_at : f.installedAt;
  const removed = 'removed_at' in f ? f.removed_at : f.removedAt;
  if (installed != null && removed != null && removed < installed)
    throw new TestbedError('TESTBED_BAD_REQUEST', 'removedAt must not be earlier than installedAt');
}

/**
 * A problem with one device of a registration: its index in the request, the
 * field, and why: `unavailable` (not a safe topic segment, or another device
 * has it: the two answer alike, so that registering cannot be used to learn
 * which usernames exist, another tenant's included) or `repeated` (given twice
 * in one request).
 */
export interface DeviceProblem {
  readonly index: number;
  readonly field: 'username';
  readonly reason: 'unavailable' | 'repeated';
  readonly message: string;
}

/** The answer to a single registration whose username is unsafe or taken: the same as the API's body check gives an unsafe one. */
const unavailable = () =>
  new TestbedError('TESTBED_BAD_REQUEST', `Invalid body: username: ${USERNAME_UNAVAILABLE}`, [
    { in: 'body', field: 'username', message: USERNAME_UNAVAILABLE },
  ]);
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
  readonly #field: Statement;
  readonly #history: LocationHistory;
  /** Credential checks waiting for the next lookup, by username. */
  #waiting = new Map<string, CredentialWaiter[]>();

  constructor(db: Database, now: () => number) {
    this.#db = db;
    this.#now = now;
    this.#scoped = new ScopedStatements(db);
    this.#auth = db.prepare(
      `SELECT d.id, d.pilot_id, d.company_id, d.testbed_id, d.profile, d.name, d.username, d.secret_hash, d.revoked_at, p.starts_at, p.ends_at, p.ended_at
       FROM devices d JOIN pilots p ON p.id = d.pilot_id WHERE d.username IN (SELECT value FROM json_each(?))`,
    );
    this.#insert = db.prepare(
      'INSERT INTO devices (id, pilot_id, company_id, testbed_id, profile, name, username, secret_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.#field = db.prepare('UPDATE devices SET (name, lon, lat, alt, placement, installed_at, removed_at) = (?, ?, ?, ?, ?, ?, ?) WHERE id = ?');
    this.#history = new LocationHistory(db);
    this.#taken = db.prepare('SELECT 1 FROM devices WHERE username = ?');
    this.#rotate = db.prepare('UPDATE devices SET secret_hash = ?, secret_rotated_at = ? WHERE id = ?');
    this.#revoke = db.prepare('UPDATE devices SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL');
  }

  /** Registers one device in `pilot` (already found in the caller's scope); its password is returned once. */
  async create(pilot: Pilot, input: NewDevice): Promise<{ device: Device; password: string }> {
    const [problem] = await this.check([input]);
    if (problem) {
      throw problem.reason === 'repeated' ? new TestbedError('TESTBED_BAD_REQUEST', problem.message) : unavailable();
    }
    return this.#insertOne(pilot, input);
  }

  /** The problems of a list of new devices: usernames unsafe or taken (alike), and usernames given twice. */
  async check(inputs: readonly NewDevice[]): Promise<DeviceProblem[]> {
    const problems: DeviceProblem[] = [];
    const seen = new Set<string>();
    for (const [index, input] of inputs.entries()) {
      const username = input.username;
      if (username === undefined) continue;
      if (seen.has(username)) problems.push({ index, field: 'username', reason: 'repeated', message: `${username} is given twice in this request` });
      else if (!isSafeTopicSegment(username) || (await this.#taken.get(username)))
        problems.push({ index, field: 'username', reason: 'unavailable', message: USERNAME_UNAVAILABLE });
      seen.add(username);
    }
    return problems;
  }

  /** Registers devices all or nothing, in one transaction; throws when `check` finds a problem. */
  async createMany(pilot: Pilot, inputs: readonly NewDevice[]): Promise<{ device: Device; password: string }[]> {
    return this.#db.transaction(async () => {
      const problems = await this.check(inputs);
      if (problems.length > 0) throw new TestbedError('TESTBED_BAD_REQUEST', 'No device was registered: fix each problem listed', problems);
      const created: { device: Device; password: string }[] = [];
      for (const input of inputs) created.push(await this.#insertOne(pilot, input));
      return created;
    });
  }

  async get(scope: Scope, id: string): Promise<Device | undefined> {
    const row = await this.#row(scope, id);
    return row && toDevice(row, precisionFor(scope, row.precision));
  }

  /** The devices of a pilot that the scope may see, oldest first; a bbox filters on the locations as this reader sees them. */
  async list(scope: Scope, pilotId: string, filter: DeviceFilter = {}): Promise<Device[]> {
    const { stmt, scopeParams } = this.#scoped.get(
      'list',
      scope,
      QUALIFIED,
      (where) => `${SELECT} WHERE d.pilot_id = ? AND (${where}) ORDER BY d.created_at, d.id`,
    );
    const devices = ((await stmt.all(pilotId, ...scopeParams)) as ReadRow[]).map((r) => toDevice(r, precisionFor(scope, r.precision)));
    const box = filter.bbox;
    return box === undefined ? devices : devices.filter((d) => d.location !== null && inBbox(d.location, box));
  }

  /** Changes a device's name, location, placement or field dates; a new location is kept in its history. */
  async update(scope: Scope, id: string, changes: DeviceChanges): Promise<Device | undefined> {
    const row = await this.#row(scope, id);
    if (!row) return undefined;
    const refused = refuseChange(scope);
    if (refused) throw new TestbedError('TESTBED_FORBIDDEN', refused);
    const location = changes.location === undefined ? pointOf(row) : changes.location;
    const next: ReadRow = {
      ...row,
      ...columnsOf(location),
      name: changes.name === undefined ? row.name : changes.name,
      placement: changes.placement === undefined ? row.placement : changes.placement,
      installed_at: changes.installedAt === undefined ? row.installed_at : changes.installedAt,
      removed_at: changes.removedAt === undefined ? row.removed_at : changes.removedAt,
    };
    checkField(next);
    await this.#db.transaction(async () => {
      await this.#field.run(next.name, next.lon, next.lat, next.alt, next.placement, next.installed_at, next.removed_at, id);
      if (!samePoint(pointOf(row), location)) await this.#history.move(row, location, this.#now());
    });
    return toDevice(next, precisionFor(scope, row.precision));
  }

  /** Where a device the scope may see has stood, oldest first; undefined when it may not see the device. */
  async locations(scope: Scope, id: string): Promise<DeviceLocation[] | undefined> {
    if (!(await this.#row(scope, id))) return undefined;
    return this.#history.list(scope, id);
  }

  /** Gives a device a new secret; the old one stops working at once. Refused (409) for a revoked device. */
  async rotate(scope: Scope, id: string): Promise<{ device: Device; password: string } | undefined> {
    const device = await this.get(scope, id);
    if (!device) return undefined;
    const refused = refuseChange(scope);
    if (refused) throw new TestbedError('TESTBED_FORBIDDEN', refused);
    if (device.revokedAt !== null) throw new TestbedError('TESTBED_CONFLICT', 'The device is revoked; register a new one instead');
    const password = newSecret();
    const at = this.#now();
    await this.#rotate.run(hashSecret(password), at, id);
    return { device: { ...device, secretRotatedAt: isoTime(at) }, password };
  }

  /** Revokes a device: it can never connect again. Revoking twice keeps the first time. */
  async revoke(scope: Scope, id: string): Promise<Device | undefined> {
    if (!(await this.get(scope, id))) return undefined;
    const refused = refuseChange(scope);
    if (refused) throw new TestbedError('TESTBED_FORBIDDEN', refused);
    await this.#revoke.run(this.#now(), id);
    return this.get(scope, id);
  }

  /**
   * Checks MQTT credentials. Undefined when the username is unknown, the password
   * wrong or the device revoked (the caller cannot tell which). An ended pilot's
   * end time is the earlier of its planned end and when it was ended. The check
   * joins those already waiting for a lookup; when none is, the lookup is made
   * at the next turn of the event loop, or after `waitMs` to let others join.
   */
  async authenticate(username: string, password: Buffer, waitMs = 0): Promise<DeviceContext | undefined> {
    // Registration admits only safe topic segments: another username cannot be any device's.
    const row = isSafeTopicSegment(username) ? await this.#credentials(username, waitMs) : undefined;
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
      name: row.name,
      pilotStartsAt: row.starts_at,
      pilotEndsAt: ends,
    };
  }

  /** The credential row of `username`, looked up with the others waiting (see `authenticate`). */
  #credentials(username: string, waitMs: number): Promise<DeviceAuthRow | undefined> {
    return new Promise((resolve, reject) => {
      const waiters = this.#waiting.get(username);
      if (waiters) waiters.push({ resolve, reject });
      else this.#waiting.set(username, [{ resolve, reject }]);
      if (this.#waiting.size > 1 || waiters) return;
      if (waitMs > 0) setTimeout(() => this.#lookUp(), waitMs);
      else setImmediate(() => this.#lookUp());
    });
  }

  /** Answers every waiting credential check, CREDENTIAL_BATCH usernames a query. */
  #lookUp(): void {
    const waiting = this.#waiting;
    this.#waiting = new Map();
    const usernames = [...waiting.keys()];
    for (let i = 0; i < usernames.length; i += CREDENTIAL_BATCH) {
      const batch = usernames.slice(i, i + CREDENTIAL_BATCH);
      this.#auth.all(JSON.stringify(batch)).then(
        (rows) => {
          const found = new Map((rows as DeviceAuthRow[]).map((r) => [r.username, r]));
          for (const username of batch) for (const w of waiting.get(username)!) w.resolve(found.get(username));
        },
        (err: unknown) => {
          for (const username of batch) for (const w of waiting.get(username)!) w.reject(err);
        },
      );
    }
  }

  async #row(scope: Scope, id: string): Promise<ReadRow | undefined> {
    const { stmt, scopeParams } = this.#scoped.get('get', scope, QUALIFIED, (where) => `${SELECT} WHERE d.id = ? AND (${where})`);
    return (await stmt.get(id, ...scopeParams)) as ReadRow | undefined;
  }

  async #insertOne(pilot: Pilot, input: NewDevice): Promise<{ device: Device; password: string }> {
    checkField(input);
    const id = newId('dev');
    const password = newSecret();
    const location = input.location ?? null;
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
      ...columnsOf(location),
      placement: input.placement ?? null,
      installed_at: input.installedAt ?? null,
      removed_at: input.removedAt ?? null,
    };
    try {
      await this.#db.transaction(async () => {
        await this.#insert.run(row.id, row.pilot_id, row.company_id, row.testbed_id, row.profile, row.name, row.username, hashSecret(password), row.created_at);
        await this.#field.run(row.name, row.lon, row.lat, row.alt, row.placement, row.installed_at, row.removed_at, row.id);
        if (location !== null) await this.#history.move(row, location, row.created_at);
      });
    } catch (err) {
      // `check` ran first; only another process on the same registry can get here.
      throw asConflict(err, '') instanceof TestbedError ? unavailable() : err;
    }
    return { device: toDevice(row, null), password };
  }
}
