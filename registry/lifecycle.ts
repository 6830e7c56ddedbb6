import type { Database, Statement } from './sql/database.js';
import { isoTime, newId, type Erasure, type Pilot, type PilotExport, type Scope, type StoredReceipt } from '../core/index.js';
import { DEVICE_COLUMNS, ScopedStatements } from './statements.js';

/** An erased device's secret digest: empty, so no password matches it. */
const NO_SECRET = Buffer.alloc(0);

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
      lastDone: db.prepare("SELECT * FROM exports WHERE pilot_id = ? AND state = 'done' ORDER BY finished_at DESC, created_at DESC, id DESC LIMIT 1"),
      insertErasure: db.prepare(
        `INSERT INTO erasures (pilot_id, company_id, testbed_id, requested_by, forced, state, receipt_id, started_at)
         VALUES (?, ?, ?, ?, ?, 'running', ?, ?) ON CONFLICT (pilot_id) DO NOTHING`,
      ),
      erasure: db.prepare('SELECT * FROM erasures WHERE pilot_id = ?'),
      unfinished: db.prepare("SELECT * FROM erasures WHERE state = 'running' ORDER BY started_at"),
      counted: db.prepare('SELECT counted FROM erasures WHERE pilot_id = ?'),
      setCounted: db.prepare('UPDATE erasures SET counted = ? WHERE pilot_id = ? AND counted IS NULL'),
      insertReceipt: db.prepare(
        'INSERT INTO receipts (id, pilot_id, company_id, testbed_id, jws, created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING',
      ),
      done: db.prepare("UPDATE erasures SET state = 'done', finished_at = ? WHERE pilot_id = ?"),
      clearDevices: db.prepare(
        `UPDATE devices SET secret_hash = ?, revoked_at = coalesce(revoked_at, ?), lon = NULL, lat = NULL, alt = NULL, placement = NULL
         WHERE pilot_id = ? AND (length(secret_hash) > 0 OR lon IS NOT NULL OR placement IS NOT NULL)`,
      ),
    };
  }

  async createExport(pilot: Pilot, requestedBy: string): Promise<PilotExport> {
    const id = newId('exp');
    await this.#s.insertExport!.run(id, pilot.id, pilot.companyId, pilot.testbedId, requestedBy, this.#now());
    return toExport((await this.#s.exportById!.get(id)) as ExportRow);
  }

  async getExport(scope: Scope, id: string): Promise<PilotExport | undefined> {
    const { stmt, scopeParams } = this.#scoped.get('export', scope, DEVICE_COLUMNS, (where) => `SELECT * FROM exports WHERE id = ? AND (${where})`);
    const row = (await stmt.get(id, ...scopeParams)) as ExportRow | undefined;
    return row && toExport(row);
  }

  async exportProgress(id: string, written: number, total: number): Promise<void> {
    await this.#s.progress!.run(written, total, id);
  }

  async finishExport(id: string, done: { bytes: number; sha256: string; manifestSha256: string; readingsWritten: number }): Promise<void> {
    await this.#s.finish!.run(done.bytes, done.sha256, done.manifestSha256, done.readingsWritten, this.#now(), id);
  }

  async failExport(id: string, error: string): Promise<void> {
    await this.#s.fail!.run(error, this.#now(), id);
  }

  /** Exports left running by a process that stopped: they cannot resume (their file is partial), so they failed. */
  async failUnfinishedExports(): Promise<string[]> {
    const ids = ((await this.#s.running!.all()) as { id: string }[]).map((r) => r.id);
    for (const id of ids) await this.failExport(id, 'the gateway stopped while the bundle was being built; ask for a new export');
    return ids;
  }

  /** Every export of a pilot (their files are removed when it is erased). */
  async exportIds(pilotId: string): Promise<string[]> {
    const rows = (await this.#db.prepare('SELECT id FROM exports WHERE pilot_id = ? ORDER BY created_at, id').all(pilotId)) as { id: string }[];
    return rows.map((r) => r.id);
  }

  async lastExport(pilotId: string): Promise<PilotExport | undefined> {
    const row = (await this.#s.lastDone!.get(pilotId)) as ExportRow | undefined;
    return row && toExport(row);
  }

  /** Starts an erasure, or returns the one already started (erasure is idempotent). */
  async beginErasure(pilot: Pilot, requestedBy: string, forced: boolean): Promise<Erasure> {
    await this.#s.insertErasure!.run(pilot.id, pilot.companyId, pilot.testbedId, requestedBy, forced ? 1 : 0, newId('rcpt'), this.#now());
    return toErasure((await this.#s.erasure!.get(pilot.id)) as ErasureRow);
  }

  async getErasure(pilotId: string): Promise<Erasure | undefined> {
    const row = (await this.#s.erasure!.get(pilotId)) as ErasureRow | undefined;
    return row && toErasure(row);
  }

  async unfinishedErasures(): Promise<Erasure[]> {
    return ((await this.#s.unfinished!.all()) as ErasureRow[]).map(toErasure);
  }

  /** What was counted before anything was deleted, kept so that a resumed erasure reports the same counts. */
  async counted(pilotId: string): Promise<unknown> {
    const row = (await this.#s.counted!.get(pilotId)) as { counted: string | null } | undefined;
    return row?.counted == null ? undefined : JSON.parse(row.counted);
  }

  async recordCounted(pilotId: string, counted: unknown): Promise<void> {
    await this.#s.setCounted!.run(JSON.stringify(counted), pilotId);
  }

  /** Counts what the registry holds of the pilot's devices beyond their records. */
  async countRemnants(pilotId: string): Promise<RegistryErasure> {
    const out = { credentials: await this.#count(LIVE_DEVICE, pilotId) } as RegistryErasure;
    for (const [name, from] of Object.entries(REMNANTS)) out[name as keyof typeof REMNANTS] = await this.#count(from, pilotId);
    return out;
  }

  /** Removes them in one transaction: credentials and places cleared (the device records stay), the rest deleted. */
  async eraseRemnants(pilotId: string): Promise<void> {
    await this.#db.transaction(async () => {
      await this.#s.clearDevices!.run(NO_SECRET, this.#now(), pilotId);
      for (const from of Object.values(REMNANTS)) await this.#db.prepare(`DELETE FROM ${from}`).run(pilotId);
    });
  }

  /** The check queries over the registry, with what each finds (0 when nothing is left). */
  async checkRemnants(pilotId: string): Promise<{ store: string; query: string; result: number }[]> {
    const checks: { store: string; query: string; result: number }[] = [];
    for (const from of [LIVE_DEVICE, ...Object.values(REMNANTS)]) {
      checks.push({ store: 'registry', query: `SELECT count(*) FROM ${from}`, result: await this.#count(from, pilotId) });
    }
    return checks;
  }

  /** Rows of `from` (a table and its WHERE on the pilot); count(*) comes back as int8 text from PostgreSQL, hence Number. */
  async #count(from: string, pilotId: string): Promise<number> {
    const row = (await this.#db.prepare(`SELECT count(*) AS n FROM ${from}`).get(pilotId)) as { n: number | string };
    return Number(row.n);
  }

  /** Stores the receipt and marks the erasure done, together. */
  async completeErasure(pilot: Pilot, receiptId: string, jws: string): Promise<void> {
    await this.#db.transaction(async () => {
      await this.#s.insertReceipt!.run(receiptId, pilot.id, pilot.companyId, pilot.testbedId, jws, this.#now());
      await this.#s.done!.run(this.#now(), pilot.id);
    });
  }

  /** Pilots whose readings have a retention limit: their own `retentionDays`, else their testbed's. */
  async retentionPlan(): Promise<{ pilotId: string; companyId: string; testbedId: string; days: number }[]> {
    return (await this.#db
      .prepare(
        `SELECT p.id AS pilotId, p.company_id AS companyId, p.testbed_id AS testbedId, coalesce(p.retention_days, t.retention_days) AS days
         FROM pilots p JOIN testbeds t ON t.id = p.testbed_id WHERE coalesce(p.retention_days, t.retention_days) IS NOT NULL ORDER BY p.id`,
      )
      .all()) as { pilotId: string; companyId: string; testbedId: string; days: number }[];
  }

  async getReceipt(scope: Scope, id: string): Promise<StoredReceipt | undefined> {
    const { stmt, scopeParams } = this.#scoped.get('receipt', scope, DEVICE_COLUMNS, (where) => `SELECT * FROM receipts WHERE id = ? AND (${where})`);
    const row = (await stmt.get(id, ...scopeParams)) as { id: string; pilot_id: string; jws: string; created_at: number } | undefined;
    return row && { id: row.id, pilotId: row.pilot_id, jws: row.jws, createdAt: isoTime(row.created_at) };
  }
}
