import type { Database, Statement } from './sql/database.js';
import { type Scope, scopeCondition, type ScopeColumns } from '../core/index.js';

/**
 * Prepared statements whose WHERE includes a scope condition. The SQL text
 * depends only on the scope's kind, so each (query, kind) is prepared once.
 * `build` gets the condition's SQL; `run` binds its parameters where the
 * query's own parameters say.
 */
export class ScopedStatements {
  readonly #db: Database;
  readonly #cache = new Map<string, Statement>();

  constructor(db: Database) {
    this.#db = db;
  }

  /** The statement for `name` under `scope`, and the scope's parameters to bind in place of `SCOPE`. */
  get(name: string, scope: Scope, cols: ScopeColumns, build: (scopeSql: string) => string): { stmt: Statement; scopeParams: readonly string[] } {
    const condition = scopeCondition(scope, cols);
    const key = `${name}:${scope.kind}`;
    let stmt = this.#cache.get(key);
    if (!stmt) {
      stmt = this.#db.prepare(build(condition.sql));
      this.#cache.set(key, stmt);
    }
    return { stmt, scopeParams: condition.params };
  }
}

/** The placement columns of the pilots table (a pilot is its own pilot). */
export const PILOT_COLUMNS: ScopeColumns = { company: 'company_id', testbed: 'testbed_id', pilot: 'id' };

/** The placement columns of a table that is placed like a device (devices, commands). */
export const DEVICE_COLUMNS: ScopeColumns = { company: 'company_id', testbed: 'testbed_id', pilot: 'pilot_id' };
