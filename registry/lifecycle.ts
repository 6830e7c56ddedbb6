import type { Database, Statement } from 'better-sqlite3';
import { isoTime, newId, type Erasure, type Pilot, type PilotExport, type Scope, type StoredReceipt } from '../core/index.js';
import { DEVICE_COLUMNS, ScopedStatements } from './statements.js';

interface ExportRow {
  id: string;
  pilot_id: string;
  state: PilotExport['state'];
  readings_written: number;
  readings_total: number;
  bytes: number | null;
  sha256: string | null;
  manifest_sha256: string | null;
  error: string | null;
  requested_by: string;
  created_at: number;
  finished_at: number | null;
}
const toExport = (r: ExportRow): PilotExport => ({
  id: r.id,
  pilotId: r.pilot_id,
  state: r.state,
  readingsWritten: r.readings_written,
  readingsTotal: r.readings_total,
  bytes: r.bytes,
  sha256: r.sha256,
  manifestSha256: r.manifest_sha256,
  error: r.error,
  requestedBy: r.requested_by,
  createdAt: isoTime(r.created_at),
  finishedAt: r.finished_at === null ? null : isoTime(r.finished_at),
});

interface ErasureRow {
  pilot_id: string;
  requested_by: string;
  forced: number;
  state: 'running' | 'done';
  receipt_id: string;
  started_at: number;
  finished_at: number | null;
}
const toErasure = (r: ErasureRow): Erasure => ({
  pilotId: r.pilot_id,
  state: r.state,
  forced: r.forced === 1,
  requestedBy: r.requested_by,
  startedAt: isoTime(r.started_at),
  finishedAt: r.finished_at === null ? null : isoTime(r.finished_at),
  receiptId: r.receipt_id,
});

/** What the registry held of a pilot's devices and removed in an erasure, by table. */
export type RegistryErasure = Record<'credentials' | 'locations' | 'health' | 'events' | 'commands' | 'configuration' | 'alerts', number>;

/** Device-level remnants of a pilot, as `<table>: <condition>` (each counted, then deleted or cleared). */
const REMNANTS: Record<Exclude<keyof RegistryErasure, 'credentials'>, string> = {
  locations: 'device_locations WHERE pilot_id = ?',
  health: 'device_health WHERE device_id IN (SELECT id FROM devices WHERE pilot_id = ?)',
  events: 'device_events WHERE device_id IN (SELECT id FROM devices WHERE pilot_id = ?)',
  commands: 'commands WHERE pilot_id = ?',
  configuration: 'device_config WHERE device_id IN (SELECT id FROM devices WHERE pilot_id = ?)',
  alerts: 'alerts WHERE pilot_id = ?',
};
/** A device still holding a credential, a location, or a placement. */
const LIVE_DEVICE = `devices WHERE pilot_id = ? AND (length(secret_hash) > 0 OR lon IS NOT NULL OR placement IS NOT NULL)`;

/**
 * Export bundles, erasures and receipts (private to the registry). Tenant reads
 * are scoped like the pilot they belong to; the rest is the lifecycle stage's
 * bookkeeping, reached through `LifecycleLedger`.
 */
export class LifecycleTable {
  readonly #db: Database;
  readonly #now: () => number;
  readonly #scoped: ScopedStatements;
  readonly #s: Record<string, Statement>;

  constructor(db: Database, now: () => number) {
    this.#db = db;
    this.#now = now;
    this.#scoped = new ScopedStatements(db);
    this.#s = {
      insertExport: db.prepare('INSERT INTO exports (id, pilot_id, company_id, testbed_id, requested_by, created_at) VALUES (?, ?, ?, ?, ?, ?)'),
      exportById: db.prepare('SELECT * FROM exports WHERE id = ?'),
      progress: db.prepare("UPDATE exports SET readings_written = ?, readings_total = ? WHERE id = ? AND state = 'running'"),
      finish: db.prepare("UPDATE exports SET state = 'done', bytes = ?, sha256 = ?, manifest_sha256 = ?, readings_written = ?, finished_at = ? WHERE id = ?"),
      fail: db.prepare("UPDATE exports SET state = 'failed', error = ?, finished_at = ? WHERE id = ? AND state = 'running'"),
      running: db.prepare("SELECT id FROM exports WHERE state = 'running'"),
      lastDone: db.prepare("SELECT * FROM exports WHERE pilot_id = ? AND state = 'done' ORDER BY finished_at DESC, rowid DESC LIMIT 1"),
      insertErasure: db.prepare(
        `INSERT INTO erasures (pilot_id, company_id, testbed_id, requested_by, forced, state, receipt_id, started_at)
         VALUES (?, ?, ?, ?, ?, 'running', ?, ?) ON CONFLICT (pilot_id) DO NOTHING`,
      ),
      erasure: db.prepare('SELECT * FROM erasures WHERE pilot_id = ?'),
      unfinished: db.prepare("SELECT * FROM erasures WHERE state = 'running' ORDER BY started_at"),
      counted: db.prepare('SELECT counted FROM erasures WHERE pilot_id = ?'),
      setCounted: db.prepare('UPDATE erasures SET counted = ? WHERE pilot_id = ? AND counted IS NULL'),
      insertReceipt: db.prepare('INSERT OR IGNORE INTO receipts (id, pilot_id, company_id, testbed_id, jws, created_at) VALUES (?, ?, ?, ?, ?, ?)'),
      done: db.prepare("UPDATE erasures SET state = 'done', finished_at = ? WHERE pilot_id = ?"),
      clearDevices: db.prepare(
        `UPDATE devices SET secret_hash = X'', revoked_at = coalesce(revoked_at, ?), lon = NULL, lat = NULL, alt = NULL, placement = NULL
         WHERE pilot_id = ? AND (length(secret_hash) > 0 OR lon IS NOT NULL OR placement IS NOT NULL)`,
      ),
    };
  }

  createExport(pilot: Pilot, requestedBy: string): PilotExport {
    const id = newId('exp');
    this.#s.insertExport!.run(id, pilot.id, pilot.companyId, pilot.testbedId, requestedBy, this.#now());
    return toExport(this.#s.exportById!.get(id) as ExportRow);
  }

  getExport(scope: Scope, id: string): PilotExport | undefined {
    const { stmt, scopeParams } = this.#scoped.get('export', scope, DEVICE_COLUMNS, (where) => `SELECT * FROM exports WHERE id = ? AND (${where})`);
    const row = stmt.get(id, ...scopeParams) as ExportRow | undefined;
    return row && toExport(row);
  }

  exportProgress(id: string, written: number, total: number): void {
    this.#s.progress!.run(written, total, id);
  }

  finishExport(id: string, done: { bytes: number; sha256: string; manifestSha256: string; readingsWritten: number }): void {
    this.#s.finish!.run(done.bytes, done.sha256, done.manifestSha256, done.readingsWritten, this.#now(), id);
  }

  failExport(id: string, error: string): void {
    this.#s.fail!.run(error, this.#now(), id);
  }

  /** Exports left running by a process that stopped: they cannot resume (their file is partial), so they failed. */
  failUnfinishedExports(): string[] {
    const ids = (this.#s.running!.all() as { id: string }[]).map((r) => r.id);
    for (const id of ids) this.failExport(id, 'the gateway stopped while the bundle was being built; ask for a new export');
    return ids;
  }

  /** Every export of a pilot (their files are removed when it is erased). */
  exportIds(pilotId: string): string[] {
    return this.#db.prepare('SELECT id FROM exports WHERE pilot_id = ? ORDER BY rowid').pluck().all(pilotId) as string[];
  }

  lastExport(pilotId: string): PilotExport | undefined {
    const row = this.#s.lastDone!.get(pilotId) as ExportRow | undefined;
    return row && toExport(row);
  }

  /** Starts an erasure, or returns the one already started (erasure is idempotent). */
  beginErasure(pilot: Pilot, requestedBy: string, forced: boolean): Erasure {
    this.#s.insertErasure!.run(pilot.id, pilot.companyId, pilot.testbedId, requestedBy, forced ? 1 : 0, newId('rcpt'), this.#now());
    return toErasure(this.#s.erasure!.get(pilot.id) as ErasureRow);
  }

  getErasure(pilotId: string): Erasure | undefined {
    const row = this.#s.erasure!.get(pilotId) as ErasureRow | undefined;
    return row && toErasure(row);
  }

  unfinishedErasures(): Erasure[] {
    return (this.#s.unfinished!.all() as ErasureRow[]).map(toErasure);
  }

  /** What was counted before anything was deleted, kept so that a resumed erasure reports the same counts. */
  counted(pilotId: string): unknown {
    const row = this.#s.counted!.get(pilotId) as { counted: string | null } | undefined;
    return row?.counted == null ? undefined : JSON.parse(row.counted);
  }

  recordCounted(pilotId: string, counted: unknown): void {
    this.#s.setCounted!.run(JSON.stringify(counted), pilotId);
  }

  /** Counts what the registry holds of the pilot's devices beyond their records. */
  countRemnants(pilotId: string): RegistryErasure {
    const count = (from: string) => this.#db.prepare(`SELECT count(*) FROM ${from}`).pluck().get(pilotId) as number;
    const out = { credentials: count(LIVE_DEVICE) } as RegistryErasure;
    for (const [name, from] of Object.entries(REMNANTS)) out[name as keyof typeof REMNANTS] = count(from);
    return out;
  }

  /** Removes them in one transaction: credentials and places cleared (the device records stay), the rest deleted. */
  eraseRemnants(pilotId: string): void {
    this.#db.transaction(() => {
      this.#s.clearDevices!.run(this.#now(), pilotId);
      for (const from of Object.values(REMNANTS)) this.#db.prepare(`DELETE FROM ${from}`).run(pilotId);
    })();
  }

  /** The check queries over the registry, with what each finds (0 when nothing is left). */
  checkRemnants(pilotId: string): { store: string; query: string; result: number }[] {
    return [LIVE_DEVICE, ...Object.values(REMNANTS)].map((from) => {
      const query = `SELECT count(*) FROM ${from}`;
      return { store: 'registry', query, result: this.#db.prepare(query).pluck().get(pilotId) as number };
    });
  }

  /** Stores the receipt and marks the erasure done, together. */
  completeErasure(pilot: Pilot, receiptId: string, jws: string): void {
    this.#db.transaction(() => {
      this.#s.insertReceipt!.run(receiptId, pilot.id, pilot.companyId, pilot.testbedId, jws, this.#now());
      this.#s.done!.run(this.#now(), pilot.id);
    })();
  }

  /** Pilots whose readings have a retention limit: their own `retentionDays`, else their testbed's. */
  retentionPlan(): { pilotId: string; companyId: string; testbedId: string; days: number }[] {
    return this.#db
      .prepare(
        `SELECT p.id AS pilotId, p.company_id AS companyId, p.testbed_id AS testbedId, coalesce(p.retention_days, t.retention_days) AS days
         FROM pilots p JOIN testbeds t ON t.id = p.testbed_id WHERE coalesce(p.retention_days, t.retention_days) IS NOT NULL ORDER BY p.id`,
      )
      .all() as { pilotId: string; companyId: string; testbedId: string; days: number }[];
  }

  getReceipt(scope: Scope, id: string): StoredReceipt | undefined {
    const { stmt, scopeParams } = this.#scoped.get('receipt', scope, DEVICE_COLUMNS, (where) => `SELECT * FROM receipts WHERE id = ? AND (${where})`);
    const row = stmt.get(id, ...scopeParams) as { id: string; pilot_id: string; jws: string; created_at: number } | undefined;
    return row && { id: row.id, pilotId: row.pilot_id, jws: row.jws, createdAt: isoTime(row.created_at) };
  }
}
