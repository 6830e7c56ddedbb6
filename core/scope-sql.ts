import { unhandled, type Scope } from './model.js';

/** The columns of a table that place a row: its company, testbed and pilot. */
export interface ScopeColumns {
  readonly company: string;
  readonly testbed: string;
  readonly pilot: string;
}

/** A SQL condition and its bound parameters. */
export interface SqlCondition {
  readonly sql: string;
  readonly params: readonly string[];
}

/**
 * The SQL condition (SQLite and PostgreSQL) that limits rows to what `scope` may see, the SQL twin
 * of `scopeAdmits`. Lists are bound as one JSON array (`json_each`), so the SQL
 * text depends only on the scope's kind and a prepared statement per kind
 * serves every caller. An empty list admits nothing.
 */
export function scopeCondition(scope: Scope, cols: ScopeColumns): SqlCondition {
  switch (scope.kind) {
    case 'all':
      return { sql: '1 = 1', params: [] };
    case 'company':
      return { sql: `${cols.company} = ?`, params: [scope.companyId] };
    case 'testbeds':
      return { sql: `${cols.testbed} IN (SELECT value FROM json_each(?))`, params: [JSON.stringify(scope.testbedIds)] };
    case 'research':
      return { sql: `${cols.pilot} IN (SELECT value FROM json_each(?))`, params: [JSON.stringify(scope.pilotIds)] };
    default:
      return unhandled(scope);
  }
}
