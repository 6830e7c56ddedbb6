import type { Database, Statement } from 'better-sqlite3';
import { TestbedError, type Pilot, type Scope, type Sharing, newId, unhandled, isoTime } from '../core/index.js';
import { PILOT_COLUMNS, ScopedStatements } from './statements.js';

const isoOrNull = (ms: number | null): string | null => (ms === null ? null : isoTime(ms));

export interface PilotRow {
  id: string;
  company_id: string;
  testbed_id: string;
  name: string;
  starts_at: number | null;
  ends_at: number | null;
  ended_at: number | null;
  sharing: Sharing;
  created_at: number;
}

export const toPilot = (r: PilotRow): Pilot => ({
  id: r.id,
  companyId: r.company_id,
  testbedId: r.testbed_id,
  name: r.name,
  startsAt: isoOrNull(r.starts_at),
  endsAt: isoOrNull(r.ends_at),
  endedAt: isoOrNull(r.ended_at),
  sharing: r.sharing,
  createdAt: isoTime(r.created_at),
});

export interface NewPilot {
  companyId: string;
  testbedId: string;
  name: string;
  startsAt?: number | undefined;
  endsAt?: number | undefined;
  sharing?: Sharing | undefined;
}

/** What an update may change; `null` clears a date. Who may change what is the API's policy. */
export interface PilotChanges {
  readonly name?: string | undefined;
  readonly startsAt?: number | null | undefined;
  readonly endsAt?: number | null | undefined;
  readonly sharing?: Sharing | undefined;
}

export interface PilotFilter {
  readonly testbedId?: string | undefined;
  readonly companyId?: string | undefined;
}

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

  constructor(db: Database, now: () => number) {
    this.#now = now;
    this.#scoped = new ScopedStatements(db);
    this.#insert = db.prepare('INSERT INTO pilots (id, company_id, testbed_id, name, starts_at, ends_at, sharing, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    this.#update = db.prepare('UPDATE pilots SET name = ?, starts_at = ?, ends_at = ?, sharing = ? WHERE id = ?');
    this.#end = db.prepare('UPDATE pilots SET ended_at = ? WHERE id = ? AND ended_at IS NULL');
    this.#shared = db.prepare(`SELECT id FROM pilots WHERE sharing <> 'private' AND (? IS NULL OR testbed_id IN (SELECT value FROM json_each(?))) ORDER BY id`);
  }

  /** Creates a pilot; the company and testbed have been checked to exist. */
  create(input: NewPilot): Pilot {
    checkWindow(input.startsAt ?? null, input.endsAt ?? null);
    const row: PilotRow = {
      id: newId('pi'),
      company_id: input.companyId,
      testbed_id: input.testbedId,
      name: input.name,
      starts_at: input.startsAt ?? null,
      ends_at: input.endsAt ?? null,
      ended_at: null,
      sharing: input.sharing ?? 'private',
      created_at: this.#now(),
    };
    this.#insert.run(row.id, row.company_id, row.testbed_id, row.name, row.starts_at, row.ends_at, row.sharing, row.created_at);
    return toPilot(row);
  }

  get(scope: Scope, id: string): Pilot | undefined {
    const row = this.#row(scope, id);
    return row && toPilot(row);
  }

  /** The pilots the scope may see, oldest first, optionally of one testbed or company. */
  list(scope: Scope, filter: PilotFilter = {}): Pilot[] {
    const { stmt, scopeParams } = this.#scoped.get(
      'list',
      scope,
      PILOT_COLUMNS,
      (where) => `SELECT * FROM pilots WHERE (${where}) AND (? IS NULL OR testbed_id = ?) AND (? IS NULL OR company_id = ?) ORDER BY created_at, id`,
    );
    const t = filter.testbedId ?? null;
    const c = filter.companyId ?? null;
    return (stmt.all(...scopeParams, t, t, c, c) as PilotRow[]).map(toPilot);
  }

  /** Applies changes to a pilot the scope may see; undefined when it may not. */
  update(scope: Scope, id: string, changes: PilotChanges): Pilot | undefined {
    const row = this.#row(scope, id);
    if (!row) return undefined;
    const next: PilotRow = {
      ...row,
      name: changes.name ?? row.name,
      starts_at: changes.startsAt === undefined ? row.starts_at : changes.startsAt,
      ends_at: changes.endsAt === undefined ? row.ends_at : changes.endsAt,
      sharing: changes.sharing ?? row.sharing,
    };
    checkWindow(next.starts_at, next.ends_at);
    this.#update.run(next.name, next.starts_at, next.ends_at, next.sharing, id);
    return toPilot(next);
  }

  /** Ends a pilot now (its devices can no longer connect); ending twice keeps the first time. */
  end(scope: Scope, id: string): Pilot | undefined {
    if (!this.#row(scope, id)) return undefined;
    this.#end.run(this.#now(), id);
    return this.get(scope, id);
  }

  /** Ids of the pilots shared with research or open, optionally only in some testbeds: a researcher's scope. */
  sharedPilotIds(testbedIds: readonly string[] | null): string[] {
    const t = testbedIds === null ? null : JSON.stringify(testbedIds);
    return (this.#shared.all(t, t) as { id: string }[]).map((r) => r.id);
  }

  #row(scope: Scope, id: string): PilotRow | undefined {
    const { stmt, scopeParams } = this.#scoped.get('get', scope, PILOT_COLUMNS, (where) => `SELECT * FROM pilots WHERE id = ? AND (${where})`);
    return stmt.get(id, ...scopeParams) as PilotRow | undefined;
  }
}
