import type { Database, Statement } from './sql/database.js';
import { TestbedError, type EmbargoSharing, type Pilot, type Scope, type Sharing, newId, unhandled, isoTime } from '../core/index.js';
import { nextSharing, OPEN_NOW_SQL, RESEARCH_NOW_SQL, sharingAt, type SharingRow } from './sharing.js';
import { PILOT_COLUMNS, ScopedStatements } from './statements.js';

const isoOrNull = (ms: number | null): string | null => (ms === null ? null : isoTime(ms));

export interface PilotRow extends SharingRow {
  id: string;
  company_id: string;
  testbed_id: string;
  name: string;
  starts_at: number | null;
  ends_at: number | null;
  ended_at: number | null;
  attribution: string | null;
  citation: string | null;
  location_precision_m: number | null;
  retention_days: number | null;
  created_at: number;
}

export const toPilot = (r: PilotRow, now: number): Pilot => ({
  id: r.id,
  companyId: r.company_id,
  testbedId: r.testbed_id,
  name: r.name,
  startsAt: isoOrNull(r.starts_at),
  endsAt: isoOrNull(r.ends_at),
  endedAt: isoOrNull(r.ended_at),
  sharing: r.sharing,
  openFrom: isoOrNull(r.open_from),
  embargoSharing: r.embargo_sharing,
  sharingNow: sharingAt(r, now),
  licence: r.licence,
  attribution: r.attribution,
  citation: r.citation,
  locationPrecisionMeters: r.location_precision_m,
  retentionDays: r.retention_days,
  createdAt: isoTime(r.created_at),
});

export interface NewPilot {
  companyId: string;
  testbedId: string;
  name: string;
  startsAt?: number | undefined;
  endsAt?: number | undefined;
  sharing?: Sharing | undefined;
  openFrom?: number | undefined;
  embargoSharing?: EmbargoSharing | undefined;
  licence?: string | undefined;
  attribution?: string | undefined;
  citation?: string | undefined;
  locationPrecisionMeters?: number | undefined;
  retentionDays?: number | undefined;
}

/** What an update may change; `null` clears. Who may change what is the API's policy. */
export interface PilotChanges {
  readonly name?: string | undefined;
  readonly startsAt?: number | null | undefined;
  readonly endsAt?: number | null | undefined;
  readonly sharing?: Sharing | undefined;
  readonly openFrom?: number | null | undefined;
  readonly embargoSharing?: EmbargoSharing | undefined;
  readonly licence?: string | null | undefined;
  readonly attribution?: string | null | undefined;
  readonly citation?: string | null | undefined;
  readonly locationPrecisionMeters?: number | null | undefined;
  readonly retentionDays?: number | null | undefined;
}

export interface PilotFilter {
  readonly testbedId?: string | undefined;
  readonly companyId?: string | undefined;
  /** Only pilots with this tier in force now (`sharingNow`). */
  readonly sharing?: Sharing | undefined;
}

const pick = <T>(change: T | undefined, current: T): T => (change === undefined ? current : change);

/** Why `scope` may not start a pilot in `testbedId`, or undefined when it may: the admin anywhere, an operator in its own testbeds. */
export function refusePilotPlace(scope: Scope, testbedId: string): string | undefined {
  switch (scope.kind) {
    case 'all':
      return undefined;
    case 'testbeds':
      return scope.testbedIds.includes(testbedId) ? undefined : `This operator key runs ${scope.testbedIds.join(', ')}; it may start pilots only there`;
    case 'company':
    case 'research':
      return 'Only admin and operator keys may start pilots';
    default:
      return unhandled(scope);
  }
}

/** Why `scope` may not change pilots or devices at all, or undefined: researchers and anonymous callers only read. */
export function refuseChange(scope: Scope): string | undefined {
  switch (scope.kind) {
    case 'all':
    case 'company':
    case 'testbeds':
      return undefined;
    case 'research':
      return 'Researchers and anonymous callers only read';
    default:
      return unhandled(scope);
  }
}

function checkWindow(startsAt: number | null, endsAt: number | null): void {
  if (startsAt !== null && endsAt !== null && startsAt >= endsAt) throw new TestbedError('TESTBED_BAD_REQUEST', 'endsAt must be later than startsAt');
}

/** Pilots: a company's trial in a testbed. Every read and change takes a scope. */
export class PilotTable {
  readonly #now: () => number;
  readonly #scoped: ScopedStatements;
  readonly #insert: Statement;
  readonly #update: Statement;
  readonly #end: Statement;
  readonly #shared: Statement;
  readonly #open: Statement;

  constructor(db: Database, now: () => number) {
    this.#now = now;
    this.#scoped = new ScopedStatements(db);
    const fields = 'name, starts_at, ends_at, sharing, open_from, embargo_sharing, licence, attribution, citation, location_precision_m, retention_days';
    this.#insert = db.prepare(`INSERT INTO pilots (id, company_id, testbed_id, created_at, ${fields}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    this.#update = db.prepare(`UPDATE pilots SET (${fields}) = (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) WHERE id = ?`);
    this.#end = db.prepare('UPDATE pilots SET ended_at = ? WHERE id = ? AND ended_at IS NULL');
    this.#shared = db.prepare(`SELECT id FROM pilots WHERE ${RESEARCH_NOW_SQL} AND (? IS NULL OR testbed_id IN (SELECT value FROM json_each(?))) ORDER BY id`);
    this.#open = db.prepare(`SELECT id FROM pilots WHERE ${OPEN_NOW_SQL} ORDER BY id`);
  }

  /** Creates a pilot; the company and testbed have been checked to exist. */
  async create(input: NewPilot): Promise<Pilot> {
    checkWindow(input.startsAt ?? null, input.endsAt ?? null);
    const blank: SharingRow = { sharing: 'private', open_from: null, embargo_sharing: 'private', licence: null };
    const row: PilotRow = {
      id: newId('pi'),
      company_id: input.companyId,
      testbed_id: input.testbedId,
      name: input.name,
      starts_at: input.startsAt ?? null,
      ends_at: input.endsAt ?? null,
      ended_at: null,
      ...nextSharing(blank, input),
      attribution: input.attribution ?? null,
      citation: input.citation ?? null,
      location_precision_m: input.locationPrecisionMeters ?? null,
      retention_days: input.retentionDays ?? null,
      created_at: this.#now(),
    };
    await this.#insert.run(row.id, row.company_id, row.testbed_id, row.created_at, ...this.#fields(row));
    return toPilot(row, this.#now());
  }

  async get(scope: Scope, id: string): Promise<Pilot | undefined> {
    const row = await this.#row(scope, id);
    return row && toPilot(row, this.#now());
  }

  /** The pilots the scope may see, oldest first, optionally of one testbed or company. */
  async list(scope: Scope, filter: PilotFilter = {}): Promise<Pilot[]> {
    const { stmt, scopeParams } = this.#scoped.get(
      'list',
      scope,
      PILOT_COLUMNS,
      (where) => `SELECT * FROM pilots WHERE (${where}) AND (? IS NULL OR testbed_id = ?) AND (? IS NULL OR company_id = ?) ORDER BY created_at, id`,
    );
    const t = filter.testbedId ?? null;
    const c = filter.companyId ?? null;
    const now = this.#now();
    const pilots = ((await stmt.all(...scopeParams, t, t, c, c)) as PilotRow[]).map((r) => toPilot(r, now));
    return filter.sharing === undefined ? pilots : pilots.filter((p) => p.sharingNow === filter.sharing);
  }

  /** Applies changes to a pilot the scope may see; undefined when it may not. */
  async update(scope: Scope, id: string, changes: PilotChanges): Promise<Pilot | undefined> {
    const row = await this.#row(scope, id);
    if (!row) return undefined;
    const refused = refuseChange(scope);
    if (refused) throw new TestbedError('TESTBED_FORBIDDEN', refused);
    const next: PilotRow = {
      ...row,
      name: changes.name ?? row.name,
      starts_at: pick(changes.startsAt, row.starts_at),
      ends_at: pick(changes.endsAt, row.ends_at),
      ...nextSharing(row, changes),
      attribution: pick(changes.attribution, row.attribution),
      citation: pick(changes.citation, row.citation),
      location_precision_m: pick(changes.locationPrecisionMeters, row.location_precision_m),
      retention_days: pick(changes.retentionDays, row.retention_days),
    };
    checkWindow(next.starts_at, next.ends_at);
    await this.#update.run(...this.#fields(next), id);
    return toPilot(next, this.#now());
  }

  /** Ends a pilot now (its devices can no longer connect); ending twice keeps the first time. */
  async end(scope: Scope, id: string): Promise<Pilot | undefined> {
    if (!(await this.#row(scope, id))) return undefined;
    await this.#end.run(this.#now(), id);
    return this.get(scope, id);
  }

  /** Ids of the pilots shared with research or open now, optionally only in some testbeds: a researcher's scope. */
  async sharedPilotIds(testbedIds: readonly string[] | null): Promise<string[]> {
    const t = testbedIds === null ? null : JSON.stringify(testbedIds);
    return ((await this.#shared.all(this.#now(), t, t)) as { id: string }[]).map((r) => r.id);
  }

  /** Ids of the pilots open now (past any embargo): an anonymous caller's scope. */
  async openPilotIds(): Promise<string[]> {
    return ((await this.#open.all(this.#now())) as { id: string }[]).map((r) => r.id);
  }

  /** The row's changeable fields in the order of the insert's and update's column list. */
  #fields(r: PilotRow): (string | number | null)[] {
    return [
      r.name,
      r.starts_at,
      r.ends_at,
      r.sharing,
      r.open_from,
      r.embargo_sharing,
      r.licence,
      r.attribution,
      r.citation,
      r.location_precision_m,
      r.retention_days,
    ];
  }

  async #row(scope: Scope, id: string): Promise<PilotRow | undefined> {
    const { stmt, scopeParams } = this.#scoped.get('get', scope, PILOT_COLUMNS, (where) => `SELECT * FROM pilots WHERE id = ? AND (${where})`);
    return (await stmt.get(id, ...scopeParams)) as PilotRow | undefined;
  }
}
