import type { Database, Statement } from './sql/database.js';
import { isoTime, type AuditEntry, type Scope } from '../core/index.js';
import { ScopedStatements } from './statements.js';

const MAX_URL = 2000;

export type NewAuditEntry = Omit<AuditEntry, 'id' | 'time' | 'detail'> & { readonly detail?: AuditEntry['detail'] | undefined };
/** An entry as the API reports it; the key and role come from the caller. */
export type AuditRecord = Omit<NewAuditEntry, 'keyId' | 'role'>;

export interface AuditQuery {
  /** Inclusive and exclusive, epoch ms. */
  readonly from: number;
  readonly to: number;
  /** Entries with an id above this one (the last of the previous page). */
  readonly afterId: number;
  readonly limit: number;
}

interface AuditRow {
  id: number;
  time: number;
  key_id: string;
  role: AuditEntry['role'];
  action: AuditEntry['action'];
  method: string;
  route: string;
  url: string;
  status: number;
  company_id: string | null;
  testbed_id: string | null;
  pilot_id: string | null;
  device_id: string | null;
  detail: string | null;
}

const toEntry = (r: AuditRow): AuditEntry => ({
  id: r.id,
  time: isoTime(r.time),
  keyId: r.key_id,
  role: r.role,
  action: r.action,
  method: r.method,
  route: r.route,
  url: r.url,
  status: r.status,
  companyId: r.company_id,
  testbedId: r.testbed_id,
  pilotId: r.pilot_id,
  deviceId: r.device_id,
  detail: r.detail === null ? null : (JSON.parse(r.detail) as AuditEntry['detail']),
});

/**
 * The access audit log, in the registry database: one row per API request made
 * with a key. An entry is scoped by where its object sits, so an operator reads
 * the entries of its own testbeds and an entry that reached no object (a key
 * listing, a refused call) is the admin's alone.
 */
export class AuditLog {
  readonly #now: () => number;
  readonly #insert: Statement;
  readonly #scoped: ScopedStatements;

  constructor(db: Database, now: () => number) {
    this.#now = now;
    this.#scoped = new ScopedStatements(db);
    this.#insert = db.prepare(
      `INSERT INTO audit_log (time, key_id, role, action, method, route, url, status, company_id, testbed_id, pilot_id, device_id, detail)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
  }

  async record(e: NewAuditEntry): Promise<void> {
    await this.#insert.run(
      this.#now(),
      e.keyId,
      e.role,
      e.action,
      e.method,
      e.route,
      e.url.slice(0, MAX_URL),
      e.status,
      e.companyId,
      e.testbedId,
      e.pilotId,
      e.deviceId,
      e.detail ? JSON.stringify(e.detail) : null,
    );
  }

  /** Entries the scope may see, oldest first. */
  async list(scope: Scope, q: AuditQuery): Promise<AuditEntry[]> {
    const { stmt, scopeParams } = this.#scoped.get(
      'list',
      scope,
      { company: 'company_id', testbed: 'testbed_id', pilot: 'pilot_id' },
      (where) => `SELECT * FROM audit_log WHERE id > ? AND time >= ? AND time < ? AND (${where}) ORDER BY id LIMIT ?`,
    );
    return ((await stmt.all(q.afterId, q.from, q.to, ...scopeParams, q.limit)) as AuditRow[]).map(toEntry);
  }
}
